"""Generate the program's IDL in both formats and the typed Python client, from the Rust source.

Accounts, types, events and errors are read from the Rust source (state/*.rs, events.rs, error.rs), so
nothing generated can drift from the layouts the program reads and writes in place. Instructions (their
account lists and arguments) are declared here, once; the program's own files document the same
order, and the LiteSVM tests exercise every instruction through the client generated from this table.

Outputs (all committed, all checked by a test):
- contracts/idl/solmeter_billing.json: the legacy Anchor IDL (what anchorpy 0.21 reads);
- contracts/idl/anchor/solmeter_billing.json: the Anchor 0.30+ IDL, spec 0.1.0 (Anchor TS, Codama, Explorer);
- contracts/client/gen/*.py: one typed class per account, defined type, event and instruction.

    .venv/bin/python -m contracts.idl.generate          # rewrites every output
    .venv/bin/python -m contracts.idl.generate --check  # exits 1 if any committed output is stale
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from contracts.idl import anchor_idl, client_gen

SRC = Path(__file__).resolve().parents[1] / "program" / "src"
OUT = Path(__file__).resolve().parent / "solmeter_billing.json"
VERSION = "0.1.0"
NAME = "solmeter_billing"


def camel(s: str) -> str:
    head, *rest = s.split("_")
    return head + "".join(w[:1].upper() + w[1:] for w in rest)


# (name, is_mut, is_signer)
def A(name: str, mut: bool = False, signer: bool = False) -> dict:
    return {"name": camel(name), "isMut": mut, "isSigner": signer}


U8, U16, U64, I64, BOOL, PK = "u8", "u16", "u64", "i64", "bool", "publicKey"
HASH = {"array": ["u8", 32]}


def opt(t):
    return {"option": t}


# Each instruction: accounts in the exact order the program reads them, then Borsh args.
INSTRUCTIONS: list[tuple[str, list[dict], list[tuple[str, object]]]] = [
    ("initialize",
     [A("admin", True, True), A("config", True), A("mint"), A("treasury"), A("rewards_vault", True),
      A("system_program"), A("token_program"), A("program"), A("program_data")],
     [("fee_bps", U16), ("burn_bps", U16), ("min_stake", U64), ("withdrawal_delay", I64),
      ("settlement_window", I64), ("unstake_cooldown", I64), ("contest_window", I64), ("resolution_window", I64),
      ("batch_retention", I64), ("update_delay", I64), ("epoch_length", I64),
      ("meter", PK), ("arbiter", PK), ("config_bump", U8), ("rewards_bump", U8)]),
    ("update_config",
     [A("admin", False, True), A("config", True)],
     [("fee_bps", opt(U16)), ("burn_bps", opt(U16)), ("min_stake", opt(U64)), ("withdrawal_delay", opt(I64)),
      ("settlement_window", opt(I64)), ("unstake_cooldown", opt(I64)), ("contest_window", opt(I64)),
      ("resolution_window", opt(I64)), ("batch_retention", opt(I64)), ("update_delay", opt(I64)),
      ("arbiter", opt(PK)), ("new_admin", opt(PK)), ("add_meter", opt(PK)), ("remove_meter", opt(PK)),
      ("paused", opt(BOOL))]),
    ("register_customer",
     [A("wallet", True, True), A("config"), A("customer", True), A("escrow", True), A("mint"),
      A("system_program"), A("token_program")],
     [("customer_bump", U8), ("escrow_bump", U8)]),
    ("deposit",
     [A("wallet", False, True), A("config"), A("customer", True), A("escrow", True), A("source", True),
      A("mint"), A("token_program")],
     [("amount", U64)]),
    ("request_withdrawal",
     [A("wallet", False, True), A("config"), A("customer", True)],
     [("amount", U64)]),
    ("withdraw",
     [A("wallet", False, True), A("config"), A("customer", True), A("escrow", True), A("destination", True),
      A("mint"), A("token_program")],
     []),
    ("set_channel_limit",
     [A("wallet", True, True), A("config"), A("customer"), A("provider"), A("channel", True),
      A("system_program")],
     [("limit_per_epoch", U64), ("channel_bump", U8)]),
    ("configure_auto_top_up",
     [A("wallet", False, True), A("config"), A("customer", True), A("source")],
     [("threshold", U64), ("amount", U64)]),
    ("top_up",
     [A("config"), A("customer", True), A("escrow", True), A("source", True), A("mint"), A("token_program")],
     []),
    ("register_provider",
     [A("wallet", True, True), A("config"), A("provider", True), A("stake_vault", True), A("payout"),
      A("mint"), A("system_program"), A("token_program")],
     [("provider_bump", U8), ("stake_bump", U8)]),
    ("stake",
     [A("wallet", False, True), A("config"), A("provider"), A("stake_vault", True), A("source", True),
      A("mint"), A("token_program")],
     [("amount", U64)]),
    ("request_unstake",
     [A("wallet", False, True), A("config"), A("provider", True)],
     [("amount", U64)]),
    ("withdraw_stake",
     [A("wallet", False, True), A("config"), A("provider", True), A("stake_vault", True),
      A("destination", True), A("mint"), A("token_program")],
     []),
    ("post_batch",
     [A("meter", True, True), A("config", True), A("batch", True), A("system_program")],
     [("root", HASH), ("count", U64), ("total", U64), ("batch_bump", U8), ("config_version", U64)]),
    ("settle",
     [A("payer", True, True), A("config"), A("batch"), A("customer", True), A("escrow", True),
      A("provider", True), A("stake_vault"), A("payout", True), A("treasury", True), A("mint", True),
      A("channel", True), A("epoch", True), A("provider_epoch", True), A("system_program"), A("token_program")],
     [("receipt", {"array": ["u8", 248]}), ("proof", {"vec": HASH}), ("epoch_bump", U8),
      ("provider_epoch_bump", U8)]),
    ("prepare_settle",
     [A("payer", True, True), A("config"), A("customer"), A("provider"), A("channel", True), A("epoch", True),
      A("provider_epoch", True), A("system_program")],
     [("epoch", U64), ("epoch_bump", U8), ("provider_epoch_bump", U8)]),
    ("fund_epoch",
     [A("funder", True, True), A("config"), A("epoch", True), A("rewards_vault", True), A("source", True),
      A("mint"), A("system_program"), A("token_program")],
     [("epoch", U64), ("amount", U64), ("epoch_bump", U8)]),
    ("claim_rewards",
     [A("wallet", False, True), A("config"), A("provider", True), A("stake_vault"), A("provider_epoch", True),
      A("epoch", True), A("rewards_vault", True), A("payout", True), A("mint"), A("token_program")],
     [("epoch", U64)]),
    ("propose_slash",
     [A("admin", True, True), A("config"), A("provider", True), A("stake_vault"), A("slash", True),
      A("beneficiary"), A("system_program")],
     [("amount", U64), ("evidence_hash", HASH), ("slash_bump", U8)]),
    ("contest_slash",
     [A("wallet", False, True), A("config"), A("provider"), A("slash", True)],
     [("evidence_hash", HASH)]),
    ("resolve_slash",
     [A("arbiter", False, True), A("config"), A("provider", True), A("slash", True)],
     [("uphold", BOOL)]),
    ("execute_slash",
     [A("config"), A("provider", True), A("slash", True), A("stake_vault", True), A("beneficiary", True),
      A("mint"), A("token_program")],
     []),
    ("lapse_slash",
     [A("config"), A("provider", True), A("slash", True)],
     []),
    ("set_treasury",
     [A("admin", False, True), A("config", True), A("treasury")],
     []),
    ("set_payout",
     [A("wallet", False, True), A("config"), A("provider", True), A("payout")],
     []),
    ("close_batch",
     [A("meter", True, True), A("config"), A("batch", True)],
     []),
    ("publish_price_book",
     [A("admin", True, True), A("config", True), A("price_book", True), A("system_program")],
     [("version", U64), ("sha256", HASH), ("price_book_bump", U8)]),
]

_SCALARS = {"Pubkey": PK, "U64": U64, "I64": I64, "U16": U16, "u8": U8, "Flag": BOOL, "Hash": HASH}


def _consts() -> dict[str, int]:
    out = {}
    for f in (SRC / "state").glob("*.rs"):
        for m in re.finditer(r"pub const (\w+): usize = (\d+);", f.read_text()):
            out[m.group(1)] = int(m.group(2))
    return out


def _rust_type(t: str, consts: dict[str, int]):
    t = t.strip()
    if t in _SCALARS:
        return _SCALARS[t]
    if re.fullmatch(r"[A-Z]\w*", t):  # a struct of state/ (e.g. Params), declared among the types
        return {"defined": t}
    m = re.fullmatch(r"\[(\w+);\s*(\w+)\]", t)
    if m:
        inner, n = m.group(1), m.group(2)
        n = int(n) if n.isdigit() else consts[n]
        inner_t = _SCALARS.get(inner) or {"defined": inner}
        return {"array": [inner_t, n]}
    raise ValueError(f"no IDL type for Rust type {t!r}")


def _fields(body: str, consts) -> list[dict]:
    fields = []
    for m in re.finditer(r"pub (\w+):\s*([^,\n]+),", body):
        name, ty = m.group(1), m.group(2)
        if name == "discriminator":
            continue
        fields.append({"name": camel(name), "type": _rust_type(ty, consts)})
    return fields


def _structs(consts) -> list[tuple[str, list[dict]]]:
    out = []
    for f in sorted((SRC / "state").glob("*.rs")):
        for m in re.finditer(r"pub struct (\w+) \{(.*?)\n\}", f.read_text(), re.S):
            out.append((m.group(1), _fields(m.group(2), consts)))
    return out


def _events(consts) -> list[dict]:
    text = (SRC / "events.rs").read_text()
    out = []
    for m in re.finditer(r'event!\((\w+), b"event:(\w+)" \{(.*?)\}\);', text, re.S):
        name, pre, body = m.groups()
        assert name == pre, f"event {name} has discriminator preimage event:{pre}"
        fields = []
        for fm in re.finditer(r"(\w+):\s*([\w\[\];\s]+?)\s*(?:,|$)", body.strip()):
            fields.append({"name": camel(fm.group(1)), "type": _rust_type(fm.group(2), consts), "index": False})
        out.append({"name": name, "fields": fields})
    return out


def _errors() -> list[dict]:
    text = (SRC / "error.rs").read_text()
    return [
        {"code": int(code), "name": name, "msg": msg.strip()}
        for msg, name, code in re.findall(r"///\s*(.+)\n\s+(\w+) = (\d+),", text)
    ]


def build_idl() -> dict:
    consts = _consts()
    structs = _structs(consts)
    account_names = {"Config", "Customer", "Provider", "Channel", "Batch", "Epoch", "ProviderEpoch", "Slash",
                     "PriceBook"}
    accounts = [{"name": n, "type": {"kind": "struct", "fields": f}} for n, f in structs if n in account_names]
    types = [{"name": n, "type": {"kind": "struct", "fields": f}} for n, f in structs if n not in account_names]
    assert {a["name"] for a in accounts} == account_names, "an account struct is missing from state/"
    instructions = [
        {"name": camel(name), "accounts": accs, "args": [{"name": camel(a), "type": t} for a, t in args]}
        for name, accs, args in INSTRUCTIONS
    ]
    return {
        "version": VERSION,
        "name": NAME,
        "instructions": instructions,
        "accounts": accounts,
        "types": types,
        "events": _events(consts),
        "errors": _errors(),
    }


def render() -> str:
    return json.dumps(build_idl(), indent=2) + "\n"


def write_or_check(out: Path, text: str, argv: list[str], module: str) -> int:
    """Write a generated file, or with --check in argv exit 1 if the file on disk is not `text`."""
    return write_or_check_all({out: text}, argv, module)


def write_or_check_all(files: dict[Path, str], argv: list[str], module: str) -> int:
    """Write generated files, or with --check in argv exit 1 if any file on disk is not its text."""
    if "--check" in argv:
        stale = [p for p, text in files.items() if not p.exists() or p.read_text() != text]
        for p in stale:
            print(f"{p} is stale: run python -m {module}", file=sys.stderr)
        return 1 if stale else 0
    for p, text in files.items():
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
        print(f"wrote {p}")
    return 0


def outputs() -> dict[Path, str]:
    """Every generated file and its text: both IDL formats and the typed client."""
    idl = build_idl()
    return {OUT: json.dumps(idl, indent=2) + "\n",
            anchor_idl.OUT: json.dumps(anchor_idl.convert(idl), indent=2) + "\n",
            **client_gen.render_all(idl)}


def main(argv: list[str]) -> int:
    return write_or_check_all(outputs(), argv, "contracts.idl.generate")


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
