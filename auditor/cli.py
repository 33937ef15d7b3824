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

from .api import MeterApi
from .audits import (ChainFacts, audit_all, audit_batch, audit_channel, audit_customer, audit_epoch, audit_program,
                     audit_provider, audit_receipt)
from .chain import ChainReader
from .receipt_file import SignedReceipt, load_signed_receipt, load_signed_receipts
from .result import Report

app = typer.Typer(help="Verify receipts, channels, batches, epochs, customers, providers and the deployed program "
                       "against the chain.", no_args_is_help=True)

_HEX64 = re.compile(r"^(0x)?[0-9a-fA-F]{64}$")

JsonOpt = typer.Option(False, "--json", help="Print the report as JSON (for machines).")
ApiOpt = typer.Option(None, "--api", help="Metering API base URL to fetch receipts from "
                                          "(default http://<api_host>:<api_port>). Its answers are verified, "
                                          "never trusted.")
ProgramOpt = typer.Option(None, "--program-id", help="Billing program id (default: the configured one).")
KeypairOpt = typer.Option(None, "--keypair", "-k", help="Sign the metering API reads with this wallet: a "
                                                        "channel's receipt list is served to its customer, "
                                                        "its provider and the operator only.")


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


def _facts(program_id: Optional[str]) -> tuple[ChainFacts, object]:
    s = _run(load_settings)
    pid_text = program_id or s.resolved_program_id
    try:
        pid = Pubkey.from_string(pid_text)
    except ValueError:
        raise _fail(f"--program-id: {pid_text!r} is not a base58 public key") from None
    reader = ChainReader.connect(s.resolved_rpc_url, pid, s.commitment, progress=_progress)
    return ChainFacts(reader), s


def _api(url: Optional[str], settings, keypair: Optional[Path] = None) -> MeterApi:
    kp = None
    if keypair is not None:
        from solmeter.keys import load_keypair

        kp = _run(lambda: load_keypair(keypair))
    return MeterApi(url or f"http://{settings.api_host}:{settings.api_port}", keypair=kp)


def _pubkey(field: str, value: str) -> Pubkey:
    try:
        return Pubkey.from_string(value)
    except ValueError:
        raise _fail(f"{field}: {value!r} is not a base58 public key") from None


def _emit(report: Report, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(report.to_json(), indent=2, default=str))
    else:
        typer.echo(report.render())
    raise typer.Exit(0 if report.ok else 1)


def _run(fn):
    """Run an audit step; an audit that cannot run at all is one line on stderr and exit 1."""
    try:
        return fn()
    except SolmeterError as e:
        raise _fail(str(e)) from None


def _receipt_arg(arg: str, api: Optional[str], settings) -> SignedReceipt:
    p = Path(arg)
    if p.exists() or not _HEX64.match(arg):
        return load_signed_receipt(p)
    client = _api(api, settings)
    try:
        sr = client.receipt(arg[-64:].lower())
    finally:
        client.close()
    if sr is None:
        raise SolmeterError(f"the metering API has no receipt {arg}")
    return sr


@app.command("receipt")
def receipt_cmd(
    receipt: str = typer.Argument(..., help="A signed-receipt JSON file, or a receipt id (64 hex) to fetch "
                                            "from the metering API."),
    prev: Optional[str] = typer.Option(None, "--prev", help="The previous receipt (file or id): also check the "
                                                             "hash chain link to it."),
    api: Optional[str] = ApiOpt,
    program_id: Optional[str] = ProgramOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Verify one receipt: the meter signature, the key registered for its config version, the inclusion
    proof against the on-chain batch root, the link to --prev, and whether (and by which transaction) the
    channel's settled cumulative covers it."""
    facts, s = _facts(program_id)
    sr = _run(lambda: _receipt_arg(receipt, api, s))
    pr = _run(lambda: _receipt_arg(prev, api, s)) if prev else None
    _emit(_run(lambda: audit_receipt(facts, sr, pr)), as_json)


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
    program_id: Optional[str] = ProgramOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Verify a channel: walk its receipt chain from seq 1 (signatures, links, cumulative amounts never
    decreasing), and check every settlement on-chain moved exactly cumulative minus previously settled,
    split into fee, burn and provider share per the config in force."""
    c, p = _pubkey("CUSTOMER", customer), _pubkey("PROVIDER", provider)
    facts, s = _facts(program_id)
    if receipts is not None:
        rs = _run(lambda: load_signed_receipts(receipts))
    elif no_api:
        rs = None
    else:
        client = _api(api, s, keypair)
        try:
            rs = _run(lambda: client.channel_receipts(str(c), str(p)))
        finally:
            client.close()
    _emit(_run(lambda: audit_channel(facts, c, p, rs)), as_json)


@app.command("batch")
def batch_cmd(
    index: int = typer.Argument(..., min=0, help="On-chain batch index."),
    receipts: Optional[Path] = typer.Option(None, "--receipts", help="JSON file with the batch's signed receipts "
                                                                    "in leaf order (default: from the API)."),
    api: Optional[str] = ApiOpt,
    program_id: Optional[str] = ProgramOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Verify a batch: recompute the Merkle root from its receipts, and check the count and the total
    (sum of new amounts) against what was posted on-chain."""
    facts, s = _facts(program_id)
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
    _emit(report, as_json)


@app.command("epoch")
def epoch_cmd(
    n: int = typer.Argument(..., min=0, help="Epoch number."),
    program_id: Optional[str] = ProgramOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Verify an epoch: the funded emission, each claim pro rata to the provider's settled revenue
    (rounded down), and nothing claimed beyond what was funded."""
    facts, _ = _facts(program_id)
    _emit(_run(lambda: audit_epoch(facts, n)), as_json)


@app.command("customer")
def customer_cmd(
    wallet: str = typer.Argument(..., help="Customer wallet public key."),
    program_id: Optional[str] = ProgramOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Verify a customer's escrow: recorded deposits and settlements as the transactions say, and the escrow
    balance equal to deposits minus withdrawals minus settlements."""
    w = _pubkey("WALLET", wallet)
    facts, _ = _facts(program_id)
    _emit(_run(lambda: audit_customer(facts, w)), as_json)


@app.command("provider")
def provider_cmd(
    wallet: str = typer.Argument(..., help="Provider wallet public key."),
    program_id: Optional[str] = ProgramOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Verify a provider's slashes (each proposed, contested, resolved and executed by the rules; accounts
    and pending amount as the events say) and that its recorded revenue is the sum of its settlements."""
    w = _pubkey("WALLET", wallet)
    facts, _ = _facts(program_id)
    _emit(_run(lambda: audit_provider(facts, w)), as_json)


@app.command("program")
def program_cmd(
    committed: Optional[Path] = typer.Option(None, "--committed", help="Committed binary to compare with "
                                                                      "(default contracts/build/solmeter_billing.so)."),
    rebuild: bool = typer.Option(True, "--rebuild/--no-rebuild", help="Also rebuild from source with the offline "
                                                                      "toolchain and compare (verifiable build)."),
    program_id: Optional[str] = ProgramOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Verify the deployed program: its bytes against the committed binary and against a fresh build from
    source, printing the sha256 of each."""
    from contracts import PROGRAM_SO

    from .program import default_builder

    facts, _ = _facts(program_id)
    if rebuild:
        _progress("rebuilding the program from source (the first build compiles core: about a minute)")
    _emit(_run(lambda: audit_program(facts.reader, committed or PROGRAM_SO, default_builder if rebuild else None)),
          as_json)


@app.command("all")
def all_cmd(
    committed: Optional[Path] = typer.Option(None, "--committed", help="Committed binary to compare the deployed "
                                                                      "program with (default contracts/build/"
                                                                      "solmeter_billing.so)."),
    chain_only: bool = typer.Option(False, "--chain-only", help="Do not fetch receipts from the metering API: "
                                                                "check settlements, epochs and the program only."),
    api: Optional[str] = ApiOpt,
    keypair: Optional[Path] = KeypairOpt,
    program_id: Optional[str] = ProgramOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Audit everything the program holds on-chain: every channel (its receipts from the metering API),
    every batch, every customer's escrow, every provider, every epoch, and the deployed program against the
    committed binary."""
    from contracts import PROGRAM_SO

    facts, s = _facts(program_id)
    client = None if chain_only else _api(api, s, keypair)
    try:
        reports = _run(lambda: audit_all(facts, client, committed or PROGRAM_SO, progress=_progress))
    finally:
        if client is not None:
            client.close()
    ok = all(r.ok or not r.failures for r in reports) and any(r.ok for r in reports)
    if as_json:
        typer.echo(json.dumps({"ok": ok, "reports": [r.to_json() for r in reports]}, indent=2, default=str))
    else:
        for r in reports:
            typer.echo(r.render())
        bad = [f"{r.kind} {r.target}" for r in reports if r.failures]
        typer.echo(f"== {len(reports)} audits: " + ("all CLEAN" if ok else f"FAILED: {', '.join(bad)}"))
    raise typer.Exit(0 if ok else 1)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
