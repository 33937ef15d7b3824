"""`solmeter customer lease sign|revoke|list`: the customer's signed consent to a provider's billing.

The lease is built and signed here with the customer's wallet key and posted to the meter, which stores
it only if the signature verifies (contracts/lease.py has the format, PROTOCOL.md "Leases" the rules)."""
from __future__ import annotations

import base64
import json
import os
import time
from pathlib import Path
from typing import Optional

from solders.pubkey import Pubkey
import typer

from solmeter.commands.common import fmt, keypair, one_line_errors, parse_amount, settings
from contracts.cli_output import YES, confirm, emit, iso_utc, local_time
from contracts.lease import GpuResource, Lease, Revocation, StorageResource
from metering.leases import call_meter, lease_body, post_signed, revocation_body

app = typer.Typer(help="Leases: what the customer consents to be billed for (signed with its wallet key).",
                  no_args_is_help=True)
KEYPAIR = typer.Option(None, "--keypair", "-k", help="Customer wallet keypair (default: the global keypair).")
API = typer.Option(None, "--api", envvar="SOLMETER_METER_API", help="Meter API URL (default: http://api_host:api_port).")


def _url(api: Optional[str]) -> str:
    s = settings()
    return (api or f"http://{s.api_host}:{s.api_port}").rstrip("/")


def _resource(gpu: Optional[str], storage: Optional[str], classes: list[str]):
    if (gpu is None) == (storage is None):
        raise ValueError("give exactly one of --gpu CLASS:COUNT or --storage BUCKET")
    if gpu is not None:
        cls, _, count = gpu.partition(":")
        if not count.isdigit():
            raise ValueError(f"--gpu {gpu!r}: expected CLASS:COUNT, e.g. H100:8")
        return GpuResource(cls, int(count))
    if not classes:
        raise ValueError("a storage lease needs at least one --class CLASS=MAX_BYTES")
    out = {}
    for c in classes:
        name, _, n = c.partition("=")
        if not n.isdigit():
            raise ValueError(f"--class {c!r}: expected CLASS=MAX_BYTES, e.g. STANDARD=1099511627776")
        out[name] = int(n)
    return StorageResource(storage, out)


@app.command()
@one_line_errors
def sign(lease_id: str = typer.Argument(..., help="The lease id (the GPU job's lease_id, or the storage agent's bucket NAME)."),
         provider: str = typer.Option(..., "--provider", help="The provider allowed to bill under it."),
         cap: str = typer.Option(..., "--cap", help="Most tokens ever billed under it, e.g. 25 or 0.5."),
         hours: float = typer.Option(24.0, "--hours", min=0.001, help="Expiry: this long after the start."),
         gpu: Optional[str] = typer.Option(None, "--gpu", help="GPUs rented: CLASS:COUNT, e.g. H100:8."),
         storage: Optional[str] = typer.Option(None, "--storage", help="Storage rented: the bucket (or bucket/prefix)."),
         classes: list[str] = typer.Option([], "--class", help="Storage class and its most bytes, CLASS=MAX_BYTES (repeat)."),
         start_ms: Optional[int] = typer.Option(None, "--start-ms", help="Start, unix ms (default: now)."),
         price_book_version: Optional[int] = typer.Option(None, "--price-book-version",
                                                          help="Price book agreed to (default: the meter's current one)."),
         decimals: int = typer.Option(6, "--decimals", min=0, max=18, help="Decimals of the mint (for --cap)."),
         api: Optional[str] = API, kp: Optional[Path] = KEYPAIR) -> None:
    """Sign a lease with the customer's wallet key and give it to the meter."""
    url = _url(api)
    w = keypair(kp)
    meter = call_meter("GET", f"{url}/v1/meter")
    try:
        prov = Pubkey.from_string(provider)
    except ValueError:
        raise ValueError(f"--provider {provider!r} is not a base58 Solana public key") from None
    start = int(time.time() * 1000) if start_ms is None else start_ms
    lease = Lease(Pubkey.from_string(meter["program_id"]), lease_id, w.pubkey(), prov,
                  price_book_version or meter["price_book_version"], parse_amount(cap, decimals), start,
                  start + int(hours * 3_600_000), os.urandom(16), _resource(gpu, storage, classes))
    out = post_signed(url, "/v1/leases", lease_body(lease, w))
    r = lease.resource
    what = f"{r.gpu_count} x {r.gpu_class}" if lease.kind == 1 else \
        f"{r.bucket} ({', '.join(f'{c} <= {n} bytes' for c, n in sorted(r.classes.items()))})"

    emit({"lease_id": lease_id, "status": out["status"], "provider": provider, "cap": lease.cap,
          "cap_tokens": fmt(lease.cap, decimals), "price_book_version": lease.price_book_version,
          "start_ms": lease.start_ms, "expiry_ms": lease.expiry_ms, "lease_hash": lease.lease_hash.hex()},
         f"lease {lease_id} {out['status']}: {what} from {provider}, cap {fmt(lease.cap, decimals)} tokens "
         f"({lease.cap} base units), price book v{lease.price_book_version}, {local_time(lease.start_ms, 'ms')} .. "
         f"{local_time(lease.expiry_ms, 'ms')}, hash {lease.lease_hash.hex()}")


@app.command()
@one_line_errors
def revoke(lease_id: str = typer.Argument(..., help="The lease to revoke."),
           at_ms: Optional[int] = typer.Option(None, "--at-ms", help="Revocation time, unix ms (default: now)."),
           api: Optional[str] = API, kp: Optional[Path] = KEYPAIR, yes: bool = YES) -> None:
    """Revoke a lease: usage from the revocation time on is not billed (asks first: a revocation is final)."""
    url = _url(api)
    w = keypair(kp)
    got = call_meter("GET", f"{url}/v1/leases/{lease_id}")
    lease = Lease.decode(base64.b64decode(got["encoding_base64"]))
    if lease.customer != w.pubkey():
        raise ValueError(f"lease {lease_id} belongs to customer {lease.customer}, not to {w.pubkey()}")
    rev = Revocation(lease.program_id, lease.lease_hash, w.pubkey(), int(time.time() * 1000) if at_ms is None else at_ms)
    # final: the meter never bills under a revoked lease again; going on needs a new lease under another id
    confirm(yes, f"revoke lease {lease_id} of customer {w.pubkey()} from {local_time(rev.revoked_at_ms, 'ms')} "
                 f"(final: usage after that is not billed; to go on, sign a new lease under another id)")
    out = post_signed(url, "/v1/revocations", revocation_body(rev, w))
    at = int(out["revoked_at_ms"])
    emit({"action": "customer lease revoke", "lease_id": lease_id, "status": out["status"], "revoked_at_ms": at,
          "revoked_at": iso_utc(at, "ms")}, f"lease {lease_id} {out['status']} at {local_time(at, 'ms')}")


@app.command("list")
@one_line_errors
def list_(api: Optional[str] = API, kp: Optional[Path] = KEYPAIR,
          as_json: bool = typer.Option(False, "--json", help="The signed leases as the meter serves them."),
          decimals: int = typer.Option(6, "--decimals", min=0, max=18, help="Decimals of the mint (for the caps).")) -> None:
    """The customer's leases as the meter holds them."""
    url = _url(api)
    w = keypair(kp)
    leases = call_meter("GET", f"{url}/v1/leases", params={"customer": str(w.pubkey())})["leases"]
    if as_json:
        typer.echo(json.dumps(leases, indent=2))
        return

    if not leases:
        typer.echo(f"no leases for {w.pubkey()}")
    for x in leases:
        state = f"revoked at {local_time(x['revoked_at_ms'], 'ms')}" if x["revoked_at_ms"] is not None else "active"
        typer.echo(f"{x['lease_id']}  {x['kind']}  provider {x['provider']}  cap {fmt(int(x['cap']), decimals)} tokens  "
                   f"{local_time(x['start_ms'], 'ms')} .. {local_time(x['expiry_ms'], 'ms')}  {state}")
