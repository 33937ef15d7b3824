"""Quantities backed by evidence (issue 15): the auditor verifies each receipt's provider-signed events (the
group signatures, each event's inclusion, the evidence root the signed detail names) and recomputes the
receipt's cumulative quantities from them with the meter's own rollup (contracts/rollup.py).

Attacks by an operator misusing its own meter (it holds the meter key, so it can re-sign any detail): billing
GPU-milliseconds no event backs, dropping an event, altering an event's body. Each leaves every check the
auditor had before (signatures, proofs, prices, leases) as it was; each makes the new one fail by name.
Real meter, real localnet, real ed25519; the tampering is done on the documents the meter serves."""
from __future__ import annotations

import copy
import json
from dataclasses import replace

import pytest

from auditor.evidence import check_channel_evidence
from contracts.evidence import evidence_root, payload_hash
from contracts.pricing import canonical_json, detail_hash

pytest.importorskip("localnet")
pytest.importorskip("metering.api")

import meter_world  # noqa: E402

PID = meter_world.PID


@pytest.fixture(scope="module")
def honest(tmp_path_factory):
    with meter_world.build(tmp_path_factory.mktemp("evidence")) as w:
        with meter_world.serve(w) as url:
            w["url"] = url
            yield w


@pytest.fixture(scope="module")
def docs(honest):
    api, d = honest["api"], honest["d"]
    rs = api.channel_receipts(str(d.customer.pubkey()), str(d.provider.pubkey()))
    consent = api.consent(rs)
    return ([s.receipt for s in rs], [consent.details[s.receipt_id] for s in rs],
            [api.evidence(s.receipt_id) for s in rs])


def _status(checks, name):
    return {c.status for c in checks if c.name == name}


def test_honest_quantities_recompute_from_the_signed_events(docs):
    receipts, details, evidence = docs
    assert all(e is not None and e["events"] for e in evidence[:1])
    checks = check_channel_evidence(receipts, details, evidence)
    assert not [c for c in checks if c.status != "pass"], "\n".join(f"{c.name} {c.status} {c.detail}" for c in checks)
    assert len([c for c in checks if c.name == "evidence.quantities"]) == len(receipts)


def _resign(receipt, detail):
    """What the operator does with its own meter key: a new detail, its hash in a re-signed receipt."""
    return replace(receipt, detail_hash=detail_hash(canonical_json(detail))), detail


def _first_gpu(details):
    for k, d in enumerate(details):
        for i, ln in enumerate(d["lines"]):
            if ln["family"] == "gpu" and ln["quantity"] > 0:
                return k, i
    raise AssertionError("no GPU line")


def test_billing_gpu_ms_no_event_backs_fails(docs):
    receipts, details, evidence = (list(x) for x in docs)
    k, i = _first_gpu(details)
    d = copy.deepcopy(details[k])
    d["lines"][i]["cumulative"] += 3_600_000
    d["lines"][i]["quantity"] += 3_600_000
    receipts[k], details[k] = _resign(receipts[k], d)
    checks = check_channel_evidence(receipts, details, evidence)
    assert "fail" in _status(checks, "evidence.quantities")
    assert not _status(checks, "evidence.root") & {"fail"}  # the events are the honest ones


def _drop(doc, pred):
    doc = copy.deepcopy(doc)
    doc["events"] = [e for e in doc["events"] if not pred(e)]
    return doc


def test_dropping_an_event_fails_the_root(docs):
    receipts, details, evidence = (list(x) for x in docs)
    evidence[0] = _drop(evidence[0], lambda e, first=evidence[0]["events"][0]: e is first or e == first)
    assert "fail" in _status(check_channel_evidence(receipts, details, evidence), "evidence.root")


def test_dropping_an_event_and_re_signing_the_root_fails_the_quantities(docs):
    receipts, details, evidence = (list(x) for x in docs)
    # an egress event of the first receipt: its bytes are billed, so the rollup without it differs
    eg = next(e for e in evidence[0]["events"] if json.loads(e["body"])["type"] == "io.solmeter.egress")
    evidence[0] = _drop(evidence[0], lambda e: e == eg)
    d = copy.deepcopy(details[0])
    d["evidence"]["root"] = evidence_root([payload_hash(e["body"]) for e in evidence[0]["events"]]).hex()
    d["evidence"]["events"] -= 1
    receipts[0], details[0] = _resign(receipts[0], d)
    checks = check_channel_evidence(receipts, details, evidence)
    assert _status(checks, "evidence.root") == {"pass"}
    assert "fail" in _status(checks, "evidence.quantities")


def test_altering_an_event_body_fails_inclusion(docs):
    receipts, details, evidence = (list(x) for x in docs)
    doc = copy.deepcopy(evidence[0])
    for e in doc["events"]:
        body = json.loads(e["body"])
        if body["type"] == "io.solmeter.gpu.lease.heartbeat":
            body["data"]["gpu_count"] += 6
            e["body"] = json.dumps(body, separators=(",", ":"))
            break
    evidence[0] = doc
    checks = check_channel_evidence(receipts, details, evidence)
    assert "fail" in _status(checks, "evidence.inclusion")


def test_a_group_signed_by_another_key_fails_the_signature(docs):
    receipts, details, evidence = (list(x) for x in docs)
    doc = copy.deepcopy(evidence[0])
    sig = bytearray(bytes.fromhex(doc["groups"][0]["signature"]))
    sig[0] ^= 1
    doc["groups"][0]["signature"] = sig.hex()
    evidence[0] = doc
    assert "fail" in _status(check_channel_evidence(receipts, details, evidence), "evidence.signature")


def test_evidence_not_served_is_not_verified_never_clean(docs):
    receipts, details, evidence = (list(x) for x in docs)
    checks = check_channel_evidence(receipts, details, [None] * len(evidence))
    assert _status(checks, "evidence.quantities") == {"pending"}


def test_the_customer_checks_quantities_end_to_end(honest, tmp_path, isolated_env, monkeypatch):
    from typer.testing import CliRunner

    from contracts import DEFAULT_PROGRAM_ID
    from solmeter.cli import app

    key = tmp_path / "customer.json"
    key.write_text(json.dumps(list(bytes(honest["d"].customer))))
    key.chmod(0o600)
    monkeypatch.setenv("SOLMETER_RPC_URL", honest["node"].rpc_url)
    monkeypatch.setenv("SOLMETER_PROGRAM_ID", DEFAULT_PROGRAM_ID)
    res = CliRunner().invoke(app, ["customer", "check-bill", "--keypair", str(key), "--api", honest["url"],
                                   "--json"])
    doc = json.loads(res.stdout)
    names = {c["name"]: c["status"] for r in doc["reports"] for c in r["checks"]}
    assert res.exit_code == 0 and doc["outcome"] == "CLEAN", res.output
    assert names["evidence.quantities"] == "pass" and names["evidence.signature"] == "pass"


def _customer_and_auditor(honest, tmp_path, monkeypatch):
    """The customer's keypair file, a new auditor's and its keypair; the CLI pointed at the world's chain."""
    from solders.keypair import Keypair

    from contracts import DEFAULT_PROGRAM_ID

    cust, auditor = tmp_path / "customer.json", tmp_path / "auditor.json"
    cust.write_text(json.dumps(list(bytes(honest["d"].customer))))
    auditor_kp = Keypair()
    auditor.write_text(json.dumps(list(bytes(auditor_kp))))
    for f in (cust, auditor):
        f.chmod(0o600)
    monkeypatch.setenv("SOLMETER_RPC_URL", honest["node"].rpc_url)
    monkeypatch.setenv("SOLMETER_PROGRAM_ID", DEFAULT_PROGRAM_ID)
    return cust, auditor, auditor_kp


def test_an_auditor_checks_the_bill_with_the_customers_consent(honest, tmp_path, isolated_env, monkeypatch):
    from typer.testing import CliRunner

    from solmeter.cli import app

    cust, auditor, auditor_kp = _customer_and_auditor(honest, tmp_path, monkeypatch)
    r = CliRunner().invoke(app, ["customer", "consent", str(auditor_kp.pubkey()), "--keypair", str(cust)])
    assert r.exit_code == 0, r.output
    consent = r.stdout.strip()
    wallet = str(honest["d"].customer.pubkey())
    base = ["audit", "bill", wallet, "-k", str(auditor), "--api", honest["url"], "--json"]
    res = CliRunner().invoke(app, [*base, "--consent", consent])
    doc = json.loads(res.stdout)
    assert res.exit_code == 0 and doc["outcome"] == "CLEAN", res.output
    assert {c["name"] for r in doc["reports"] for c in r["checks"]} >= {"evidence.quantities", "evidence.root"}
    res = CliRunner().invoke(app, base)  # without the consent: its receipt lists are not served to the auditor
    assert res.exit_code != 0


def _pruned(honest, receipt_id: bytes, gone) -> dict:
    """What the meter serves for `receipt_id` once retention has dropped the usage events `gone(body)` picks
    (metering/retention.py drops a day partition of usage_events; the seal's hashes and the evidence groups
    stay): metering.evidence.receipt_evidence, the route's own function, on the meter's database with those
    rows deleted, rolled back afterwards (the module's world stays honest)."""
    from sqlalchemy import text

    from metering.evidence import receipt_evidence

    with honest["engine"].connect() as conn:
        tx = conn.begin()
        try:
            ids = [i for i, body in conn.execute(text("SELECT id, body FROM usage_events")) if gone(body)]
            assert ids
            conn.execute(text("DELETE FROM usage_events WHERE id IN (%s)" % ",".join(map(str, ids))))
            doc = receipt_evidence(conn, receipt_id)
        finally:
            tx.rollback()
    assert doc is not None
    return doc


def test_evidence_pruned_by_retention_is_not_verified_naming_what_is_missing(honest, docs):
    """Retention dropped an event the first receipt covers: its quantities, and those of every later receipt of
    the channel (cumulative), cannot be recomputed. The audit must say NOT VERIFIED, naming the event whose
    body is gone: never CLEAN, and never FAILED as if the operator had cheated (nothing served is wrong).
    Mutant auditor.evidence-pruned-passes (the pruned event silently skipped) makes this test fail."""
    from auditor.result import Report

    receipts, details, evidence = (list(x) for x in docs)
    first = json.loads(evidence[0]["events"][0]["body"])["id"]
    api, d = honest["api"], honest["d"]
    rid = api.channel_receipts(str(d.customer.pubkey()), str(d.provider.pubkey()))[0].receipt_id
    served = _pruned(honest, rid, lambda body: json.loads(body)["id"] == first)
    assert [e["body"] for e in served["events"]].count(None) == 1  # served as the meter does: hash kept, body gone
    evidence[0] = served
    checks = check_channel_evidence(receipts, details, evidence)
    assert not [c for c in checks if c.failed], "\n".join(f"{c.name} {c.status} {c.detail}" for c in checks)
    assert _status(checks, "evidence.quantities") == {"pending"}
    assert len([c for c in checks if c.name == "evidence.quantities"]) == len(receipts)
    missing = [c for c in checks if c.status == "pending" and "pruned by retention" in c.detail]
    assert missing and all(c.subject == "seq 1" for c in missing)
    report = Report("channel", "pruned").add(checks)
    assert report.outcome == "NOT VERIFIED" and not report.ok


@pytest.mark.parametrize("api_from", ["flag", "env"])
def test_an_auditor_checks_one_channel_with_the_customers_consent(honest, tmp_path, isolated_env, monkeypatch,
                                                                  api_from):
    """`audit channel -k AUDITOR --consent C` reads the channel's receipt list with the consent (it was added
    only after that read: a 403 for the very case the option exists for); the meter API comes from --api or
    from SOLMETER_METER_API, as for the customer commands; the refusal without consent is one whole line
    (the meter's reason was cut at 200 characters, mid-word) that names --consent."""
    from typer.testing import CliRunner

    from solmeter.cli import app

    cust, auditor, auditor_kp = _customer_and_auditor(honest, tmp_path, monkeypatch)
    if api_from == "env":
        monkeypatch.setenv("SOLMETER_METER_API", honest["url"])
        monkeypatch.setenv("SOLMETER_API_PORT", "9")  # the default URL would not answer
    r = CliRunner().invoke(app, ["customer", "consent", str(auditor_kp.pubkey()), "--keypair", str(cust)])
    assert r.exit_code == 0, r.output
    base = ["audit", "channel", str(honest["d"].customer.pubkey()), str(honest["d"].provider.pubkey()),
            "-k", str(auditor), *(["--api", honest["url"]] if api_from == "flag" else [])]
    res = CliRunner().invoke(app, [*base, "--json", "--consent", r.stdout.strip()])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["outcome"] == "CLEAN" and {c["name"] for c in doc["checks"]} >= {"evidence.quantities",
                                                                                 "receipt.signature"}, res.output
    res = CliRunner().invoke(app, base)  # without the consent
    lines = [l for l in res.output.splitlines() if l.strip()]
    assert res.exit_code == 1 and len(lines) == 1, res.output
    assert "served to its customer, its provider, the operator, or a reader holding the customer's signed consent" \
        in lines[0] and "--consent" in lines[0], res.output  # an auditor is told what it lacks, not a provider's rule
