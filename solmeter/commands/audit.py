"""`solmeter audit ...`: verify a receipt, a channel, a batch, an epoch, a provider or the deployed program
from public data alone. Exit status 0 when every check passes, 1 when any fails or the audit cannot run."""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Optional

import typer
from solders.pubkey import Pubkey

from solmeter.config import load_settings
from solmeter.errors import SolmeterError
from solmeter.flags import current as current_flags

from auditor.api import MeterApi
from auditor.audits import (ChainFacts, api_members, audit_all, audit_batch, audit_bill, audit_channel, audit_customer,
                     audit_epoch, audit_program, audit_provider, audit_receipt, supplied_members)
from auditor.chain import ChainReader
from auditor.errors import ApiForbidden, ApiReadError, AuditError
from auditor.receipt_file import SignedReceipt, load_signed_receipt, load_signed_receipts
from auditor.result import Report, all_summary
from auditor.leases import Consent
from auditor.program import default_builder
from contracts import PROGRAM_SO
from solmeter.keys import load_keypair

app = typer.Typer(help="Verify receipts, channels, batches, epochs, customers, providers and the deployed program "
                       "against the chain.", no_args_is_help=True)

_HEX64 = re.compile(r"^(0x)?[0-9a-fA-F]{64}$")

JsonOpt = typer.Option(False, "--json", help="Print the report as JSON (for machines).")
ApiOpt = typer.Option(None, "--api", envvar="SOLMETER_METER_API", help="Metering API base URL to fetch receipts from "
                                          "(default http://<api_host>:<api_port>). Its answers are verified, "
                                          "never trusted.")
ProgramOpt = typer.Option(None, "--program-id", help="Billing program id (default: the configured one).")
KeypairOpt = typer.Option(None, "--keypair", "-k", help="Sign the metering API reads with this wallet: a "
                                                        "channel's receipt list is served to its customer, "
                                                        "its provider and the operator only.")
ConsentOpt = typer.Option(None, "--consent", help="The customer's signed consent for the -k key to read its "
                                                    "usage evidence (customer:expiry_ms:signature, "
                                                    "`solmeter customer consent`); the customer's own key needs "
                                                    "none.")
CrossOpt = typer.Option(None, "--cross-check-url", help="A second RPC node (of another operator): every account, "
                                                          "listing, signature list, transaction and block read is "
                                                          "compared with it, and any difference fails the audit.")
PriceBooksOpt = typer.Option(None, "--price-books", help="Directory of price book files kept by the auditor "
                                                           "(price-book-v<N>.json, as published); default: the "
                                                           "metering API's /v1/price-books when receipts come from "
                                                           "it. Each must hash to its on-chain commitment.")
PendingOpt = typer.Option(False, "--allow-pending", help="Exit 0 even when some items are NOT VERIFIED yet (e.g. "
                                                         "receipts not batched); failures still exit 1.")


@app.callback()
def _group() -> None:
    """Verify receipts, channels, batches, epochs, customers, providers and the deployed program against the chain.

    Every check prints what holds or what does not and why; the exit status is non-zero when any fails.
    """


def _fail(msg: str) -> typer.Exit:
    typer.echo(f"error: {msg}", err=True)
    return typer.Exit(1)


def _progress(msg: str) -> None:
    typer.echo(f"... {msg}", err=True)


def _facts(program_id: Optional[str], cross_check_url: Optional[str] = None) -> tuple[ChainFacts, object]:
    s = _run(lambda: load_settings(flags=current_flags()))
    pid_text = program_id or s.resolved_program_id
    try:
        pid = Pubkey.from_string(pid_text)
    except ValueError:
        raise _fail(f"--program-id: {pid_text!r} is not a base58 public key") from None
    reader = ChainReader.connect(s.resolved_rpc_url, pid, s.commitment, progress=_progress,
                                 cross_check_url=cross_check_url)
    return ChainFacts(reader), s


def _api(url: Optional[str], settings, keypair: Optional[Path] = None) -> MeterApi:
    kp = None
    if keypair is not None:
        kp = _run(lambda: load_keypair(keypair))
    return MeterApi(url or f"http://{settings.api_host}:{settings.api_port}", keypair=kp)


def _pubkey(field: str, value: str) -> Pubkey:
    try:
        return Pubkey.from_string(value)
    except ValueError:
        raise _fail(f"{field}: {value!r} is not a base58 public key") from None


def _decimals(facts: ChainFacts) -> int | None:
    """The mint's decimals as the Config account records them, for the text report's amounts in tokens (None
    when there is no Config to read: the amounts are then shown in base units only)."""
    try:
        cfg = facts.config()
    except Exception:  # noqa: BLE001 - presentation only: the report itself already says what it could read
        return None
    return None if cfg is None else cfg.decimals


def _emit(report: Report, as_json: bool, allow_pending: bool = False, facts: ChainFacts | None = None) -> None:
    if as_json:
        typer.echo(json.dumps(report.to_json(), indent=2, default=str))
    else:
        typer.echo(report.render(_decimals(facts) if facts is not None else None))
    raise typer.Exit(0 if report.passes(allow_pending) else 1)


def _run(fn):
    """Run an audit step; an audit that cannot run at all is one line on stderr and exit 1."""
    try:
        return fn()
    except (AuditError, SolmeterError) as e:
        raise _fail(str(e)) from None


def _requested(arg: Optional[str]) -> bytes | None:
    """The receipt id asked for, when the argument is an id (not a file)."""
    if arg is None or Path(arg).exists() or not _HEX64.match(arg):
        return None
    return bytes.fromhex(arg[-64:])


def _dir_files(d: Path):
    """Price book files kept by the auditor: DIR/price-book-v<N>.json, the bytes as published."""
    def read(version: int) -> bytes | None:
        f = d / f"price-book-v{version}.json"
        return f.read_bytes() if f.is_file() else None
    return read


def _price_files(price_books: Optional[Path], client: Optional[MeterApi]):
    """Where price book files come from: --price-books DIR, else the metering API when the receipt came from
    it, else none (pricing not checked for a receipt file without --price-books)."""
    if price_books is not None:
        return _dir_files(price_books)
    return client.price_book_file if client is not None else None


_HEX_PREFIX = re.compile(r"^(0x)?[0-9a-fA-F]{8,63}$")


def _whole_id(arg: Optional[str], api: Optional[str], settings, keypair: Optional[Path]) -> Optional[str]:
    """A receipt id as given, or the one whole id a prefix (8 to 63 hex, as `receipts` may show it) names
    among the receipts of the signing wallet (-k, else the configured keypair). No match, or more than one:
    one line saying so (the candidates listed)."""
    if arg is None or Path(arg).exists() or _HEX64.match(arg) or not _HEX_PREFIX.match(arg):
        return arg
    prefix = arg.lower().removeprefix("0x")

    path = keypair or settings.resolved_keypair_path
    if keypair is None and not Path(path).exists():  # an auditor without keys: say what works without one
        raise _fail(f"receipt id prefix {arg} is looked up among a wallet's receipts and no keypair was given (none at "
                    f"{path}): give the whole 64-hex id (receipts by id are public), or -k the customer's or the "
                    f"provider's keypair")
    kp = _run(lambda: load_keypair(path))
    client = MeterApi(api or f"http://{settings.api_host}:{settings.api_port}", keypair=kp)
    try:
        ids = client.receipt_ids_with_prefix(str(kp.pubkey()), prefix)
    except ApiReadError as e:
        raise _fail(f"receipt id prefix {arg}: {e}") from None
    finally:
        client.close()
    try:
        return pick_by_prefix(prefix, ids, str(kp.pubkey()))
    except ValueError as e:
        raise _fail(str(e)) from None


def pick_by_prefix(prefix: str, ids: list[str], wallet: str) -> str:
    """The one id of `ids` that starts with `prefix`; none, or several (listed), is an error."""
    found = sorted({i for i in ids if i.lower().startswith(prefix.lower())})
    if not found:
        raise ValueError(f"no receipt of {wallet} has an id starting with {prefix} (give the whole 64-hex id, or "
                         f"sign with -k the customer's or the provider's keypair)")
    if len(found) > 1:
        raise ValueError(f"receipt id prefix {prefix} is ambiguous: {len(found)} receipts match: {', '.join(found)}")
    return found[0]


def _receipt_arg(arg: str, api: Optional[str], settings) -> SignedReceipt:
    p = Path(arg)
    if _requested(arg) is None:
        return load_signed_receipt(p)
    client = _api(api, settings)
    try:
        sr = client.receipt(arg[-64:].lower())
    finally:
        client.close()
    if sr is None:
        raise SolmeterError(f"the metering API has no receipt {arg}")
    return sr


def _consent(api: Optional[str], settings, receipts):
    """The receipts' details and the leases they name, from the metering API; none if it cannot be read (the
    lease checks then say they were skipped, and why)."""
    client = _api(api, settings)
    try:
        return client.consent(list(receipts))
    except ApiReadError:
        return Consent({}, {})
    finally:
        client.close()


@app.command("receipt")
def receipt_cmd(
    receipt: str = typer.Argument(..., help="A signed-receipt JSON file, or a receipt id (64 hex, or a unique "
                                            "prefix of at least 8 among the -k wallet's receipts) to fetch from "
                                            "the metering API."),
    prev: Optional[str] = typer.Option(None, "--prev", help="The previous receipt (file or id): also check the "
                                                             "hash chain link to it."),
    api: Optional[str] = ApiOpt,
    price_books: Optional[Path] = PriceBooksOpt,
    program_id: Optional[str] = ProgramOpt,
    cross_check_url: Optional[str] = CrossOpt,
    as_json: bool = JsonOpt,
    allow_pending: bool = PendingOpt,
    keypair: Optional[Path] = typer.Option(None, "--keypair", "-k", help="Resolve an id prefix among this "
                                                                          "wallet's receipts (default: the "
                                                                          "configured keypair)."),
) -> None:
    """Verify one receipt: the meter signature, the key registered for its config version, the inclusion
    proof against the on-chain batch root, the link to --prev, and whether (and by which transaction) the
    channel's settled cumulative covers it."""
    facts, s = _facts(program_id, cross_check_url)
    receipt = _whole_id(receipt, api, s, keypair)
    prev = _whole_id(prev, api, s, keypair)
    sr = _run(lambda: _receipt_arg(receipt, api, s))
    pr = _run(lambda: _receipt_arg(prev, api, s)) if prev else None
    client = _api(api, s) if _requested(receipt) is not None else None
    consent = _consent(api, s, [sr])  # the detail and the leases it names are public
    try:
        report = _run(lambda: audit_receipt(facts, sr, pr, _requested(receipt), _requested(prev),
                                            _price_files(price_books, client), consent=consent))
    finally:
        if client is not None:
            client.close()
    _emit(report, as_json, allow_pending, facts)


def _channel_receipts(client, customer, provider):
    """The channel's receipts from the API; a reader that may not list them is told what it can audit alone."""
    try:
        return client.channel_receipts(str(customer), str(provider))
    except ApiForbidden as e:
        raise ApiForbidden(f"{e}; or audit the settlements and the channel account without them: --chain-only (the "
                           f"receipts then stay NOT VERIFIED)") from None


@app.command("channel")
def channel_cmd(
    customer: str = typer.Argument(..., help="Customer wallet public key."),
    provider: str = typer.Argument(..., help="Provider wallet public key."),
    receipts: Optional[Path] = typer.Option(None, "--receipts", help="JSON file with the channel's signed receipts "
                                                                    "(default: fetch them from the metering API)."),
    no_api: bool = typer.Option(False, "--chain-only", help="Do not fetch receipts: check only the settlements "
                                                           "and the channel account."),
    api: Optional[str] = ApiOpt,
    keypair: Optional[Path] = KeypairOpt,
    price_books: Optional[Path] = PriceBooksOpt,
    program_id: Optional[str] = ProgramOpt,
    cross_check_url: Optional[str] = CrossOpt,
    as_json: bool = JsonOpt,
    allow_pending: bool = PendingOpt,
    consent_hdr: Optional[str] = ConsentOpt,
) -> None:
    """Verify a channel: walk its receipt chain from seq 1 (signatures, links, cumulative amounts never
    decreasing), check the receipts reach everything settled and everything committed in on-chain batches
    (batch members from the API), and check every settlement on-chain moved exactly cumulative minus
    previously settled, split into fee, burn and provider share per the config in force, tied to the
    inclusion proof of the receipt it paid."""
    c, p = _pubkey("CUSTOMER", customer), _pubkey("PROVIDER", provider)
    facts, s = _facts(program_id, cross_check_url)
    # batch members (for coverage) come from the API unless chain only, or a file without an explicit --api
    client = None if no_api or (receipts is not None and api is None) else _api(api, s, keypair)
    if client is not None and consent_hdr:  # on every read, the receipt list's first (an auditor's key needs it)
        client.consent_header = consent_hdr
    try:
        if receipts is not None:
            rs = _run(lambda: load_signed_receipts(receipts))
        elif client is None:
            rs = None
        else:
            rs = _run(lambda: _channel_receipts(client, c, p))
        members = (api_members(client) if client is not None else
                   supplied_members(facts, rs) if rs is not None else None)
        consent = _consent(api, s, rs) if rs else None  # the details and the leases they name are public
        report = _run(lambda: audit_channel(facts, c, p, rs, members, _price_files(price_books, client),
                                            consent=consent, evidence=client.evidence if client is not None else None))
    finally:
        if client is not None:
            client.close()
    _emit(report, as_json, allow_pending, facts)


@app.command("batch")
def batch_cmd(
    index: int = typer.Argument(..., min=0, help="On-chain batch index."),
    receipts: Optional[Path] = typer.Option(None, "--receipts", help="JSON file with the batch's signed receipts "
                                                                    "in leaf order (default: from the API)."),
    api: Optional[str] = ApiOpt,
    program_id: Optional[str] = ProgramOpt,
    cross_check_url: Optional[str] = CrossOpt,
    as_json: bool = JsonOpt,
    allow_pending: bool = PendingOpt,
) -> None:
    """Verify a batch: recompute the Merkle root from its receipts, and check the count and the total
    (sum of new amounts) against what was posted on-chain."""
    facts, s = _facts(program_id, cross_check_url)
    client = _api(api, s)
    try:
        def members():
            if receipts is not None:
                return load_signed_receipts(receipts)
            b = facts.batch(index)
            if b is None:
                return None
            doc = client.batch_by_root(bytes(b.root))
            if doc is None:
                raise SolmeterError(f"the metering API has no batch with the on-chain root of batch {index}")
            out = []
            for rid in doc.get("receipt_ids") or []:
                sr = client.receipt(rid)
                if sr is None:
                    raise SolmeterError(f"the metering API lists receipt {rid} in the batch but does not serve it")
                out.append(sr)
            return out

        def lookup(rid: bytes):
            return client.receipt(rid.hex())

        rs = _run(members)
        report = _run(lambda: audit_batch(facts, index, rs, lookup))
    finally:
        client.close()
    _emit(report, as_json, allow_pending, facts)


@app.command("epoch")
def epoch_cmd(
    n: int = typer.Argument(..., min=0, help="Epoch number."),
    program_id: Optional[str] = ProgramOpt,
    cross_check_url: Optional[str] = CrossOpt,
    as_json: bool = JsonOpt,
    allow_pending: bool = PendingOpt,
) -> None:
    """Verify an epoch: the funded emission, each claim pro rata to the provider's settled revenue
    (rounded down), and nothing claimed beyond what was funded. An epoch without activity is pending."""
    facts, _ = _facts(program_id, cross_check_url)
    _emit(_run(lambda: audit_epoch(facts, n)), as_json, allow_pending, facts)


@app.command("customer")
def customer_cmd(
    wallet: str = typer.Argument(..., help="Customer wallet public key."),
    program_id: Optional[str] = ProgramOpt,
    cross_check_url: Optional[str] = CrossOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Verify a customer's escrow: recorded deposits and settlements as the transactions say, and the escrow
    balance equal to deposits minus withdrawals minus settlements."""
    w = _pubkey("WALLET", wallet)
    facts, _ = _facts(program_id, cross_check_url)
    _emit(_run(lambda: audit_customer(facts, w)), as_json, facts=facts)


@app.command("bill")
def bill_cmd(
    wallet: str = typer.Argument(..., help="Customer wallet public key."),
    api: Optional[str] = ApiOpt,
    keypair: Optional[Path] = KeypairOpt,
    price_books: Optional[Path] = PriceBooksOpt,
    program_id: Optional[str] = ProgramOpt,
    cross_check_url: Optional[str] = CrossOpt,
    as_json: bool = JsonOpt,
    allow_pending: bool = PendingOpt,
    consent_hdr: Optional[str] = ConsentOpt,
) -> None:
    """Check a customer's whole bill from public data: its escrow, and every channel's receipts (signed,
    committed, chained, covering what is settled and committed), settlements and line items recomputed
    against the price books on the record. `solmeter customer check-bill` runs this."""
    w = _pubkey("WALLET", wallet)
    facts, s = _facts(program_id, cross_check_url)
    client = _api(api, s, keypair)  # the channel receipt lists are served to the customer: sign as it (-k)
    client.consent_header = consent_hdr
    try:
        reports = _run(lambda: audit_bill(facts, w, client, _price_files(price_books, client)))
    finally:
        client.close()
    _emit_all(reports, as_json, allow_pending, facts)


@app.command("provider")
def provider_cmd(
    wallet: str = typer.Argument(..., help="Provider wallet public key."),
    program_id: Optional[str] = ProgramOpt,
    cross_check_url: Optional[str] = CrossOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Verify a provider's slashes (each proposed, contested, resolved and executed by the rules; accounts
    and pending amount as the events say) and that its recorded revenue is the sum of its settlements."""
    w = _pubkey("WALLET", wallet)
    facts, _ = _facts(program_id, cross_check_url)
    _emit(_run(lambda: audit_provider(facts, w)), as_json, facts=facts)


@app.command("program")
def program_cmd(
    committed: Optional[Path] = typer.Option(None, "--committed", help="Committed binary to compare with "
                                                                      "(default contracts/build/solmeter_billing.so)."),
    rebuild: bool = typer.Option(True, "--rebuild/--no-rebuild", help="Also rebuild from source with the offline "
                                                                      "toolchain and compare (verifiable build)."),
    program_id: Optional[str] = ProgramOpt,
    cross_check_url: Optional[str] = CrossOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Verify the deployed program: its bytes against the committed binary and against a fresh build from
    source, printing the sha256 of each."""
    facts, _ = _facts(program_id, cross_check_url)
    if rebuild:
        _progress("rebuilding the program from source (the first build compiles core: about a minute)")
    _emit(_run(lambda: audit_program(facts.reader, committed or PROGRAM_SO, default_builder if rebuild else None,
                                     facts)), as_json)


@app.command("all")
def all_cmd(
    committed: Optional[Path] = typer.Option(None, "--committed", help="Committed binary to compare the deployed "
                                                                      "program with (default contracts/build/"
                                                                      "solmeter_billing.so)."),
    chain_only: bool = typer.Option(False, "--chain-only", help="Do not fetch receipts from the metering API: "
                                                                "check settlements, epochs and the program only."),
    rebuild: bool = typer.Option(True, "--rebuild/--no-rebuild", help="Rebuild the program from source and compare "
                                                                      "(default; a rebuild that cannot run fails)."),
    api: Optional[str] = ApiOpt,
    keypair: Optional[Path] = KeypairOpt,
    program_id: Optional[str] = ProgramOpt,
    cross_check_url: Optional[str] = CrossOpt,
    as_json: bool = JsonOpt,
    allow_pending: bool = PendingOpt,
) -> None:
    """Audit everything the program holds on-chain: every channel (its receipts from the metering API),
    every batch, every customer's escrow, every provider, every epoch, and the deployed program against the
    committed binary."""
    facts, s = _facts(program_id, cross_check_url)
    client = None if chain_only else _api(api, s, keypair)
    try:
        reports = _run(lambda: audit_all(facts, client, committed or PROGRAM_SO, progress=_progress,
                                         builder=default_builder if rebuild else None))
    finally:
        if client is not None:
            client.close()
    _emit_all(reports, as_json, allow_pending, facts)


def _emit_all(reports: list[Report], as_json: bool, allow_pending: bool, facts: ChainFacts) -> None:
    summary = all_summary(reports)
    ok = summary.passes(allow_pending)
    if as_json:
        typer.echo(json.dumps({"ok": ok, "outcome": summary.outcome, "reports": [r.to_json() for r in reports]},
                              indent=2, default=str))
    else:
        decimals = _decimals(facts)
        for r in reports:
            typer.echo(r.render(decimals))
        typer.echo(summary.line)
    raise typer.Exit(0 if ok else 1)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
