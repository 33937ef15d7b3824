"""The Anchor 0.30+ IDL (spec "0.1.0": what Anchor TS, Codama and the Explorer read), converted from the legacy IDL
that generate.py builds from the Rust source. Same wire format: the discriminators are written out
(sha256("global:<ix>") / ("account:<Name>") / ("event:<Name>")[..8]), names are snake_case, `pubkey` replaces
`publicKey`, defined types are `{"defined": {"name": ...}}`, and accounts and events list their struct layout
under `types`."""
from __future__ import annotations

from pathlib import Path

from contracts import DEFAULT_PROGRAM_ID

from .client_gen import disc, snake

OUT = Path(__file__).resolve().parent / "anchor" / "solmeter_billing.json"
SPEC = "0.1.0"
# Accounts whose address is fixed: Anchor TS fills them in by itself.
FIXED_ADDRESSES = {
    "system_program": "11111111111111111111111111111111",
    "token_program": "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA",
}


def _type(t):
    if isinstance(t, str):
        return "pubkey" if t == "publicKey" else t
    if "defined" in t:
        return {"defined": {"name": t["defined"]}}
    if "array" in t:
        inner, n = t["array"]
        return {"array": [_type(inner), n]}
    if "vec" in t:
        return {"vec": _type(t["vec"])}
    return {"option": _type(t["option"])}


def _fields(fields: list[dict]) -> list[dict]:
    return [{"name": snake(f["name"]), "type": _type(f["type"])} for f in fields]


def _account(a: dict) -> dict:
    name = snake(a["name"])
    out: dict = {"name": name}
    if a["isMut"]:
        out["writable"] = True
    if a["isSigner"]:
        out["signer"] = True
    if name in FIXED_ADDRESSES:
        out["address"] = FIXED_ADDRESSES[name]
    return out


def convert(legacy: dict, address: str = DEFAULT_PROGRAM_ID) -> dict:
    instructions = [
        {"name": snake(ix["name"]), "discriminator": list(disc("global", snake(ix["name"]))),
         "accounts": [_account(a) for a in ix["accounts"]],
         "args": _fields(ix["args"])}
        for ix in legacy["instructions"]
    ]
    types = [{"name": a["name"], "type": {"kind": "struct", "fields": _fields(a["type"]["fields"])}}
             for a in legacy["accounts"]]
    types += [{"name": e["name"], "type": {"kind": "struct", "fields": _fields(e["fields"])}}
              for e in legacy["events"]]
    types += [{"name": t["name"], "type": {"kind": "struct", "fields": _fields(t["type"]["fields"])}}
              for t in legacy["types"]]
    return {
        "address": address,
        "metadata": {"name": legacy["name"], "version": legacy["version"], "spec": SPEC,
                     "description": "solmeter billing program (generated from contracts/program/src)"},
        "instructions": instructions,
        "accounts": [{"name": a["name"], "discriminator": list(disc("account", a["name"]))}
                     for a in legacy["accounts"]],
        "events": [{"name": e["name"], "discriminator": list(disc("event", e["name"]))} for e in legacy["events"]],
        "errors": [dict(e) for e in legacy["errors"]],
        "types": types,
    }
