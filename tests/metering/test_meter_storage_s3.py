"""The storage agent's S3 source against a real S3 API server (moto's, in its own process, SigV4 checked
against its IAM): pagination, storage classes, the credential chain, custom endpoints, listings that fail
halfway (no sample, the gap reported), 100,000 objects, and samples through the meter into receipts."""
import json
import logging
import os
import uuid

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from meter_helpers import ServerThread, free_port
from moto_s3 import MotoS3
from metering.agents.client import MeterClient
from metering.agents.s3 import S3ConfigError, S3Listing, S3Location, S3Options, s3_client
from metering.agents.spool import Spool
from metering.agents.storage import Bucket, ClassTally, DirectorySource, SourceUnreadable, StorageAgent
from metering.api import create_app
from metering.models import ReceiptRow, UsageEvent
from metering.read_client import SignedReader
from metering.prices import publish_price_book
from metering.receipts import Sealer
from metering.registry import add_provider
from metering.rollup.pricing import GIB, MONTH_S, Price, PriceBook
from solmeter.cli import app as solmeter_app
from solmeter.keys import load_keypair

UE = UsageEvent.__table__
CLASSES = ["STANDARD", "GLACIER", "STANDARD_IA", "DEEP_ARCHIVE"]


def expected(count, classes, start=0, size_mod=997):
    """What the seeded objects add up to, from the seeding rule (moto_s3.MotoS3.seed), per class."""
    out = {"STANDARD": [0, 0]}  # always reported, 0 when no object is STANDARD
    for i in range(start, start + count):
        t = out.setdefault(classes[i % len(classes)], [0, 0])
        t[0] += i % size_mod + 1
        t[1] += 1
    return {c: ClassTally(b, n) for c, (b, n) in out.items()}


def tallies(truth: dict) -> dict:
    return {"STANDARD": ClassTally(0, 0)} | {c: ClassTally(b, n) for c, (b, n) in truth.items()}


def fresh_bucket() -> str:
    return f"b-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def moto():
    m = MotoS3(auth=True).start()
    yield m
    m.stop()


@pytest.fixture(scope="session")
def reader(moto):
    return moto.user("reader")


@pytest.fixture(autouse=True)
def aws_env(monkeypatch, tmp_path):
    """No AWS setting from outside; never the instance-metadata address (only 127.0.0.1 is reached)."""
    for k in list(os.environ):
        if k.startswith("AWS_"):
            monkeypatch.delenv(k)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))


@pytest.fixture
def creds(monkeypatch, reader):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", reader[0])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", reader[1])
    return reader


def listing(moto, bucket, prefix="", **opts) -> S3Listing:
    return S3Listing(S3Location(bucket, prefix), s3_client(S3Options(endpoint_url=moto.url, **opts)))


def unreadable(src) -> str:
    with pytest.raises(SourceUnreadable) as e:
        src.measure()
    msg = str(e.value)
    assert "\n" not in msg
    return msg


def test_pagination_and_storage_classes(moto, creds):
    b = fresh_bucket()
    moto.seed(b, 2_500, CLASSES, prefix="data/")
    truth = moto.seed(b, 700, ["STANDARD"], prefix="logs/", start=10_000)  # the whole bucket's, from moto's store
    before = moto.list_requests(b)
    got = listing(moto, b).measure()
    assert got == tallies(truth) and sum(t.objects for t in got.values()) == 3_200
    assert moto.list_requests(b) - before == 4  # 1,000 keys a page: the continuation tokens were followed
    assert listing(moto, b, "data/").measure() == expected(2_500, CLASSES)
    assert listing(moto, b, "logs/").measure() == expected(700, ["STANDARD"], start=10_000)
    # an empty listing is a bucket of 0 STANDARD bytes, not a missing sample
    assert listing(moto, b, "nothing-here/").measure() == {"STANDARD": ClassTally(0, 0)}


def test_credentials_from_the_environment(moto, creds, monkeypatch):
    b = fresh_bucket()
    truth = moto.seed(b, 10, ["STANDARD"])
    assert listing(moto, b).measure() == tallies(truth)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    assert unreadable(listing(moto, b)).startswith("access denied (SignatureDoesNotMatch")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAUNKNOWNKEY000000")
    assert unreadable(listing(moto, b)).startswith("access denied (InvalidAccessKeyId")
    key, secret = moto.user(f"nobody-{uuid.uuid4().hex[:6]}", policy=None)  # a real key without s3:ListBucket
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    assert unreadable(listing(moto, b)).startswith("access denied (AccessDenied")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    assert unreadable(listing(moto, b)).startswith("no AWS credentials found")


def test_credentials_and_region_from_shared_files_and_profiles(moto, reader, monkeypatch, tmp_path):
    b = fresh_bucket()
    truth = moto.seed(b, 5, ["GLACIER"])
    (tmp_path / "aws-credentials").write_text(
        "[default]\naws_access_key_id = AKIAWRONGDEFAULT0000\naws_secret_access_key = nope\n\n"
        f"[billing]\naws_access_key_id = {reader[0]}\naws_secret_access_key = {reader[1]}\n")
    (tmp_path / "aws-config").write_text("[default]\nregion = us-east-1\n\n[profile billing]\nregion = eu-west-1\n")
    src = listing(moto, b, profile="billing")
    assert src.client.meta.region_name == "eu-west-1" and src.measure() == tallies(truth)
    assert listing(moto, b, profile="billing", region="ap-south-1").client.meta.region_name == "ap-south-1"
    assert unreadable(listing(moto, b)).startswith("access denied (InvalidAccessKeyId")  # [default]
    monkeypatch.setenv("AWS_PROFILE", "billing")
    assert listing(moto, b).measure() == tallies(truth)
    with pytest.raises(S3ConfigError, match="AWS profile 'nope'"):
        listing(moto, b, profile="nope")


def test_endpoint_from_environment_errors_in_one_line(moto, creds, monkeypatch):
    b = fresh_bucket()
    truth = moto.seed(b, 3, ["STANDARD_IA"])
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", moto.url)
    src = S3Listing(S3Location(b), s3_client(S3Options()))
    assert src.client.meta.endpoint_url == moto.url and src.measure() == tallies(truth)
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3")
    assert unreadable(listing(moto, "no-such-bucket")) == f"no such bucket at {moto.url}"
    closed = f"http://127.0.0.1:{free_port()}"
    down = S3Listing(S3Location(b), s3_client(S3Options(endpoint_url=closed, attempts=2, connect_timeout_s=2)))
    assert unreadable(down) == f"endpoint {closed} unreachable (EndpointConnectionError)"
    with pytest.raises(S3ConfigError, match="give http"):
        s3_client(S3Options(endpoint_url="ftp://example"))
    for bad in ("bucket", "s3://", "s3://Upper", "s3://a"):
        with pytest.raises(S3ConfigError):
            S3Location.parse(bad)
    assert S3Location.parse("s3://my.bucket-1/a/b=c/") == S3Location("my.bucket-1", "a/b=c/")


@pytest.fixture
def server(app):
    s = ServerThread(app, free_port()).start()
    yield s
    s.stop()


def stored_samples(engine):
    with engine.connect() as c:
        return c.execute(select(UE.c.resource, UE.c.rclass, UE.c.value, UE.c.t_ms).where(UE.c.kind == 3)
                         .order_by(UE.c.t_ms, UE.c.resource)).all()


def s3_agent(moto, b, provider_kp, customer, server, clock, tmp_path, **opts):
    src = listing(moto, b, **opts)
    return StorageAgent(provider_kp, [Bucket("photos", src, customer)], Spool(tmp_path / "spool"),
                        MeterClient(server.url, provider_kp, clock=clock), clock=clock)


@pytest.mark.parametrize("mode", ["500", "403"])
def test_listing_failing_halfway_emits_no_sample_and_the_meter_reports_the_gap(
        mode, moto, creds, server, engine, cfg, meter_kp, clock, provider_kp, customer, customer_kp, tmp_path, caplog,
        sign_lease):
    sign_lease("photos", kind="storage", rclass="STANDARD")
    b = fresh_bucket()
    truth = moto.seed(b, 1_500, ["STANDARD", "GLACIER"])
    agent = s3_agent(moto, b, provider_kp, customer, server, clock, tmp_path, attempts=2)
    t0 = clock.t
    assert agent.tick().samples == 2
    moto.fault(b, mode)  # every page after the first now fails
    caplog.set_level(logging.WARNING, "solmeter.agent")
    for _ in range(3):
        clock.t += 60_000
        before = moto.list_requests(b)
        rep = agent.tick()
        assert rep.samples == 0 and rep.flush.accepted == 0 and agent.spool.count_events() == 0
        assert moto.list_requests(b) - before == (3 if mode == "500" else 2)  # page 1, then page 2 (retried on 500)
        [(where, why)] = rep.unread
        assert where == f"s3://{b}" and why.startswith("listing failed after 1 page(s) (1000 objects), no sample: ")
        assert ("InternalError" if mode == "500" else "access denied (AccessDenied") in why
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "not read" in errors[0].getMessage() and "sample timeout" in errors[0].getMessage()
    assert [(r, c, v) for r, c, v, _ in stored_samples(engine)] == [
        ("photos:GLACIER", "GLACIER", truth["GLACIER"][0], ), ("photos:STANDARD", "STANDARD", truth["STANDARD"][0])]
    moto.fault(b, None)
    clock.t = t0 + 11 * 60_000  # 11 minutes after the last sample: longer than the sample timeout
    rep = agent.tick()
    assert rep.samples == 2 and not rep.unread and rep.flush.accepted == 2
    assert any("read again after 3 tick(s)" in r.getMessage() for r in caplog.records)
    clock.t += 60_000
    agent.tick()
    assert cfg.sample_timeout_ms < 660_000
    u = SignedReader(server.url, customer_kp, clock=clock).get(
        "/v1/usage", {"customer": customer, "start_ms": t0, "end_ms": clock.t + 1, "samples": False}).json()
    [ch] = u["channels"]
    assert sorted((g["resource"], g["start_ms"], g["end_ms"]) for g in ch["gaps"]) == [
        ("photos:GLACIER", t0, t0 + 660_000), ("photos:STANDARD", t0, t0 + 660_000)]
    Sealer(engine, cfg, meter_kp).seal_due(clock.t + 10 * cfg.window_ms)
    with engine.connect() as c:
        last = json.loads(c.execute(select(ReceiptRow.__table__.c.detail).order_by(ReceiptRow.__table__.c.seq.desc())
                                    .limit(1)).scalar())
    billed = {ln["rclass"]: ln["cumulative"] for ln in last["lines"]}
    assert billed == {c: truth[c][0] * 60 for c in ("STANDARD", "GLACIER")}  # only the last minute


def test_listing_whose_server_stops_halfway_emits_no_sample(server, engine, clock, provider_kp, customer, tmp_path,
                                                            monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    m = MotoS3().start()
    try:
        b = fresh_bucket()
        m.seed(b, 2_001, ["STANDARD"])
        m.fault(b, "exit")  # the process exits on the request for page 2
        rep = s3_agent(m, b, provider_kp, customer, server, clock, tmp_path, attempts=2, connect_timeout_s=2).tick()
        assert not m.alive()
        [(_, why)] = rep.unread
        assert why.startswith("listing failed after 1 page(s) (1000 objects), no sample: endpoint ")
        assert why.endswith("unreachable (EndpointConnectionError)")
        assert rep.samples == 0 and stored_samples(engine) == []
    finally:
        m.stop()


@pytest.mark.slow  # ~70 s: moto sorts the whole bucket for each of the 100 pages
def test_bucket_of_100k_objects(moto, creds):
    b = fresh_bucket()
    truth = moto.seed(b, 100_000, CLASSES, size_mod=65_521)
    before = moto.list_requests(b)
    got = listing(moto, b).measure()  # its duration is measured by bench/storage_s3_listing.py, not here
    assert got == tallies(truth) == expected(100_000, CLASSES, size_mod=65_521)
    assert moto.list_requests(b) - before == 100


def test_s3_samples_become_receipts_priced_per_storage_class(moto, creds, server, engine, cfg, meter_kp, clock,
                                                            provider_kp, customer, customer_kp, tmp_path, sign_lease):
    book = PriceBook(version=2, storage={"STANDARD": Price(23_000, GIB * MONTH_S), "GLACIER": Price(4_000, GIB * MONTH_S),
                                         "STANDARD_IA": Price(12_500, GIB * MONTH_S)})
    publish_price_book(engine, book, 0, clock.t)
    sign_lease("photos", kind="storage", rclass="STANDARD", price_book_version=2)  # the prices the customer agrees to
    b = fresh_bucket()
    truth = moto.seed(b, 1_200, ["STANDARD", "GLACIER", "STANDARD_IA"], size_mod=1 << 20)
    agent = s3_agent(moto, b, provider_kp, customer, server, clock, tmp_path)
    for i in range(4):  # samples at t0, +1, +2, +3 minutes; the GLACIER objects are deleted after the second
        if i == 2:
            assert moto.clear(b, "GLACIER") == 400
        rep = agent.tick()
        assert rep.samples == 3 and rep.flush.accepted == 3
        clock.t += 60_000
    # a class that emptied is sampled as 0 bytes (its last minute billed, nothing after), not left as a gap
    assert [(r, v) for r, _, v, t in stored_samples(engine) if r == "photos:GLACIER"] == [
        ("photos:GLACIER", truth["GLACIER"][0])] * 2 + [("photos:GLACIER", 0)] * 2
    Sealer(engine, cfg, meter_kp).seal_due(clock.t + 10 * cfg.window_ms)
    receipts = SignedReader(server.url, customer_kp, clock=clock).get("/v1/receipts", {"customer": customer}).json()["receipts"]
    r = receipts[-1]
    lines = {ln["rclass"]: ln for ln in r["detail"]["lines"] if ln["family"] == "storage"}
    want = {"STANDARD": truth["STANDARD"][0] * 180, "STANDARD_IA": truth["STANDARD_IA"][0] * 180,
            "GLACIER": truth["GLACIER"][0] * 120}
    assert {c: ln["cumulative"] for c, ln in lines.items()} == want
    for c, ln in lines.items():
        p = book.storage[c]
        assert (ln["unit_price"], ln["per"], ln["amount"]) == (p.unit_price, p.per, want[c] * p.unit_price // p.per)
    assert r["cum_byte_seconds"] == sum(want.values()) and r["cum_amount"] == sum(ln["amount"] for ln in lines.values())
    assert all(x["detail"]["gaps"] == [] for x in receipts)


def test_directory_and_s3_buckets_in_one_agent(moto, creds, server, engine, clock, provider_kp, customer, tmp_path,
                                               sign_lease):
    sign_lease("local", kind="storage", rclass="ARCHIVE")
    sign_lease("remote", kind="storage", rclass="STANDARD")
    b = fresh_bucket()
    truth = moto.seed(b, 10, ["STANDARD"])
    d = tmp_path / "dir"
    d.mkdir()
    (d / "f").write_bytes(b"z" * 8192)
    agent = StorageAgent(provider_kp, [Bucket("local", DirectorySource(d, "ARCHIVE"), customer),
                                       Bucket("remote", listing(moto, b), customer)],
                         Spool(tmp_path / "spool"), MeterClient(server.url, provider_kp, clock=clock), clock=clock)
    assert agent.tick().samples == 2
    got = {(r, c): v for r, c, v, _ in stored_samples(engine)}
    assert got[("remote:STANDARD", "STANDARD")] == truth["STANDARD"][0] and got[("local", "ARCHIVE")] >= 8192


@pytest.fixture
def wall_server(engine, cfg, meter_kp):
    """A meter on the wall clock, as the CLI agent signs with it."""
    s = ServerThread(create_app(engine, cfg, meter_kp), free_port()).start()
    yield s
    s.stop()


def cli(args):
    r = CliRunner().invoke(solmeter_app, args)  # Typer's standalone mode, as the console script runs it
    if r.exception and not isinstance(r.exception, SystemExit):
        raise r.exception
    return r.exit_code, r.stderr


def test_agent_storage_cli_with_s3_buckets(moto, creds, wall_server, engine, customer, isolated_env, monkeypatch,
                                           tmp_path, sign_lease):
    monkeypatch.setenv("SOLMETER_DATA_DIR", str(isolated_env / "data"))
    assert CliRunner().invoke(solmeter_app, ["keys", "new", str(isolated_env / "data" / "id.json")]).exit_code == 0
    prov = str(load_keypair(isolated_env / "data" / "id.json").pubkey())
    add_provider(engine, prov, 0, "p")
    b = fresh_bucket()
    for lid in (f"{b}/img", "local", "photos"):  # the customer's leases: one per bucket NAME the agent reports
        sign_lease(lid, kind="storage", rclass="STANDARD", provider=prov)
    truth = moto.seed(b, 1_100, ["STANDARD", "GLACIER"], prefix="img/")
    d = tmp_path / "scratch"
    d.mkdir()
    base = ["agent", "storage", "--customer", customer, "--api", wall_server.url, "--endpoint-url", moto.url,
            "--s3-attempts", "1", "--once"]
    code, err = cli(base + [f"s3://{b}/img/", f"local={d}"])
    assert code == 0, err
    assert err.splitlines()[-1] == "3 sample(s); sent 3 new, 0 duplicate"
    with engine.connect() as c:
        got = dict(c.execute(select(UE.c.resource, UE.c.value).where(UE.c.kind == 3)).all())
    assert got == {f"{b}/img:STANDARD": truth["STANDARD"][0], f"{b}/img:GLACIER": truth["GLACIER"][0],
                   "local": got["local"]}
    code, err = cli(base + [f"photos=s3://{b}", "s3://no-such-bucket"])
    assert code == 3  # one bucket could not be read: its sample is missing, the other one was sent
    assert err.splitlines()[-1] == (f"2 sample(s), not read: s3://no-such-bucket (no such bucket at {moto.url}); "
                                    "sent 2 new, 0 duplicate")
    for args, words in (([f"s3://{b}", "--profile", "nope"], "error: AWS profile 'nope'"),
                        (["s3://Not_A_Bucket"], "is not an S3 bucket name"),
                        ([f"{'n' * 96}=s3://{b}"], "a bucket name is at most 95"),
                        ([f"s3://{b}", f"x=s3://{b}/other", f"{b}={d}"], "is given twice"),
                        ([f"s3://{b}", "--endpoint-url", "localhost:9000"], "give http(s)://HOST[:PORT]")):
        code, err = cli(base + args)
        assert code == 1 and err.count("\n") == 1 and words in err, (args, err)
