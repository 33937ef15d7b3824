"""Both committed IDL formats and the generated client are current (generated from the Rust source), agree with
each other, and the client encodes every instruction and decodes every account and event the program writes."""
import base64
import hashlib
import importlib

import pytest
from solders.pubkey import Pubkey

from contracts import DEFAULT_PROGRAM_ID
from contracts.client import (ACCOUNT_NAMES, BillingProgram, DecodeError, InstructionBuildError, account_size,
                              decode_account, decode_event, error_code, error_from_code, errors_by_code, parse_events)
from contracts.client.gen import accounts as gen_accounts
from contracts.client.gen import events as gen_events
from contracts.client.gen import instructions as gen_ix
from contracts.client.gen import types as gen_types
from contracts.client.idl import anchor_idl_json, idl_json
from contracts.idl import client_gen, generate, protocol
from contracts.testing import deploy, post_batch, receipt_chain, settle


def _disc(pre: str) -> bytes:
    return hashlib.sha256(pre.encode()).digest()[:8]


def test_idl_client_and_protocol_are_current():
    assert generate.main(["--check"]) == 0
    assert protocol.main(["--check"]) == 0


def test_a_stale_generated_file_is_reported(tmp_path, monkeypatch, capsys):
    # Given the generator's outputs with one generated client file edited by hand
    outputs = generate.outputs()
    target = next(p for p in outputs if p.name == "accounts.py")
    copy = {tmp_path / p.name: text for p, text in outputs.items()}
    monkeypatch.setattr(generate, "outputs", lambda: copy)
    assert generate.main([]) == 0
    edited = copy[tmp_path / target.name].replace("SIZE: ClassVar[int] = ", "SIZE: ClassVar[int] = 1", 1)
    (tmp_path / target.name).write_text(edited)
    # Then --check names it
    assert generate.main(["--check"]) == 1
    assert "accounts.py is stale" in capsys.readouterr().err


def _struct(name, **fields):
    return {"name": name, "type": {"kind": "struct", "fields": [{"name": k, "type": t} for k, t in fields.items()]}}


def test_defined_types_as_fields_render_in_dependency_order_and_are_imported_where_used(tmp_path, monkeypatch):
    # Given a type that nests another (declared after it), used directly by an account and inside an option by an
    # event, as Config.params / ConfigUpdated.pending use Params
    idl = {"types": [_struct("Outer", inner={"defined": "Inner"}, n="u64"), _struct("Inner", x="u8")],
           "accounts": [_struct("Acc", outer={"defined": "Outer"})],
           "events": [{"name": "Ev", "fields": [{"name": "maybe", "type": {"option": {"defined": "Inner"}}}]}],
           "instructions": [], "errors": []}
    types_src = client_gen.render_types(idl)
    # Then Inner is defined before Outer (Outer's FIELDS holds the class), and each module imports what it names
    assert types_src.index("class Inner(") < types_src.index("class Outer(")
    assert "from .types import Outer" in client_gen.render_accounts(idl)
    assert "from .types import Inner" in client_gen.render_events(idl)
    assert "from .types" not in client_gen.render_instructions(idl)
    # and the rendered module works: the nested struct round-trips
    (tmp_path / "rendered_types.py").write_text(types_src.replace("from ..borsh", "from contracts.client.borsh"))
    monkeypatch.syspath_prepend(str(tmp_path))
    rendered = importlib.import_module("rendered_types")
    outer = rendered.Outer(inner=rendered.Inner(x=7), n=9)
    assert rendered.Outer.from_bytes(outer.to_bytes()) == outer and len(outer.to_bytes()) == 9
    # and types that refer to each other in a cycle are refused by name
    with pytest.raises(ValueError, match="cycle: A -> B -> A"):
        client_gen.render_types({"types": [_struct("A", b={"defined": "B"}), _struct("B", a={"defined": "A"})]})


def test_legacy_idl_lists_everything_in_anchorpy_form():
    idl = idl_json()
    assert len(idl["instructions"]) == len(gen_ix.INSTRUCTIONS) == 27
    assert {a["name"] for a in idl["accounts"]} == set(ACCOUNT_NAMES)
    assert len(idl["events"]) == 26
    codes = [e["code"] for e in idl["errors"]]
    assert codes == list(range(6000, 6000 + len(codes)))
    # anchorpy 0.21's dialect: camelCase names, isMut/isSigner, publicKey
    deposit = next(i for i in idl["instructions"] if i["name"] == "deposit")
    assert deposit["accounts"][0] == {"name": "wallet", "isMut": False, "isSigner": True}
    assert any(f["type"] == "publicKey" for f in idl["accounts"][0]["type"]["fields"])


def test_anchor_030_idl_matches_the_legacy_one():
    new, old = anchor_idl_json(), idl_json()
    assert new["address"] == DEFAULT_PROGRAM_ID
    assert new["metadata"]["spec"] == "0.1.0" and new["metadata"]["name"] == old["name"]
    assert [i["name"] for i in new["instructions"]] == list(gen_ix.INSTRUCTIONS)
    for ix, cls in zip(new["instructions"], gen_ix.INSTRUCTIONS.values()):
        assert bytes(ix["discriminator"]) == _disc(f"global:{ix['name']}") == cls.DISCRIMINATOR
        assert [a["name"] for a in ix["accounts"]] == [a.name for a in cls.ACCOUNTS]
        assert [bool(a.get("writable")) for a in ix["accounts"]] == [a.writable for a in cls.ACCOUNTS]
        assert [bool(a.get("signer")) for a in ix["accounts"]] == [a.signer for a in cls.ACCOUNTS]
        assert [a["name"] for a in ix["args"]] == [n for n, _ in cls.FIELDS]
    types = {t["name"]: t for t in new["types"]}
    for a in new["accounts"]:
        assert bytes(a["discriminator"]) == _disc(f"account:{a['name']}")
        assert [f["name"] for f in types[a["name"]]["type"]["fields"]] == \
            [n for n, _ in gen_accounts.ACCOUNTS[a["name"]].FIELDS]
    for e in new["events"]:
        assert bytes(e["discriminator"]) == _disc(f"event:{e['name']}") and e["name"] in types
    assert types["Config"]["type"]["fields"][0] == {"name": "admin", "type": "pubkey"}
    meters = next(f for f in types["Config"]["type"]["fields"] if f["name"] == "meters")
    assert meters["type"] == {"array": [{"defined": {"name": "MeterKey"}}, 4]}
    # a defined type as a field, of an account and of an event
    params = next(f for f in types["Config"]["type"]["fields"] if f["name"] == "params")
    assert params["type"] == {"defined": {"name": "Params"}} and "Params" in types
    pending = next(f for f in types["ConfigUpdated"]["type"]["fields"] if f["name"] == "pending")
    assert pending["type"] == {"defined": {"name": "Params"}}
    assert new["errors"] == old["errors"]


def test_instruction_encoding_known_answers():
    # Vectors checked once against anchorpy 0.21's coder (the Anchor wire format), written out by hand here
    prog = BillingProgram()
    k = Pubkey.default()
    ix = prog.deposit(wallet=k, source=k, mint=k, amount=7)
    assert bytes(ix.data) == _disc("global:deposit") + (7).to_bytes(8, "little")
    ix = prog.update_config(admin=k, fee_bps=5, paused=True)
    assert bytes(ix.data).hex() == "1d9efcbf0a53db63" + "010500" + "00" * 13 + "0101"
    proof = [bytes([1]) * 32, bytes([2]) * 32]
    args = gen_ix.Settle(receipt=bytes(248), proof=proof, epoch_bump=4, provider_epoch_bump=5)
    assert args.encode() == (_disc("global:settle") + bytes(248) + (2).to_bytes(4, "little") + proof[0] + proof[1]
                             + bytes([4, 5]))
    assert gen_ix.Settle.decode(args.encode()) == args
    # account flags in the program's order
    assert [(m.pubkey, m.is_signer, m.is_writable) for m in ix.accounts] == [(k, True, False),
                                                                             (prog.config_address(), False, True)]


def test_bad_inputs_name_what_is_wrong():
    prog = BillingProgram()
    k = Pubkey.default()
    with pytest.raises(InstructionBuildError, match="amount: 18446744073709551616 is out of range for u64"):
        prog.deposit(wallet=k, source=k, mint=k, amount=2**64)
    with pytest.raises(InstructionBuildError, match="amount: expected an integer"):
        prog.deposit(wallet=k, source=k, mint=k, amount="7")
    with pytest.raises(InstructionBuildError, match="evidence_hash: expected 32 bytes, got 31"):
        prog.contest_slash(wallet=k, index=0, evidence_hash=bytes(31))
    with pytest.raises(InstructionBuildError, match="account 'mint' is missing"):
        prog.build("deposit", dict(wallet=k, config=k, customer=k, escrow=k, source=k, token_program=k),
                   dict(amount=1))
    with pytest.raises(InstructionBuildError, match="no instruction 'mint_free_tokens'"):
        prog.build("mint_free_tokens", {}, {})
    with pytest.raises(InstructionBuildError, match="args"):
        prog.build("deposit", {}, dict(amount=1, extra=2))


def test_decoding_refuses_what_is_not_an_account_or_event():
    cfg = gen_accounts.ACCOUNTS["Epoch"](number=1, bump=2, reward_pool=3, total_revenue=4, claimed=5)
    raw = cfg.encode()
    assert decode_account(raw) == ("Epoch", cfg)
    with pytest.raises(DecodeError, match="trailing"):
        decode_account(raw + b"\0")
    with pytest.raises(DecodeError, match="needs"):
        decode_account(raw[:-1])
    with pytest.raises(DecodeError, match="unknown account discriminator"):
        decode_account(bytes(8) + raw[8:])
    pe = gen_accounts.ACCOUNTS["ProviderEpoch"](provider=Pubkey.default(), epoch=0, bump=1, revenue=0, claimed=True,
                                                reward=0)
    bad = bytearray(pe.encode())
    bad[8 + 32 + 8 + 1 + 8] = 2  # the `claimed` bool byte
    with pytest.raises(DecodeError, match="bool byte 2"):
        decode_account(bytes(bad))
    with pytest.raises(DecodeError, match="unknown event discriminator"):
        decode_event(bytes(16))


def test_errors_table():
    assert error_code("Paused") == 6013
    assert error_from_code(6029).name == "EscrowUnderfunded"
    assert all(e.msg for e in errors_by_code().values())


def test_every_account_and_event_decodes_from_the_program():
    d = deploy()
    c = d.customer(deposit=1_000_000)
    p = d.provider(stake=2_000_000)
    d.open_channel(c, p)
    rs = receipt_chain(d, c.pubkey, p.pubkey, [1_000])
    idx, tree, r = post_batch(d, rs)
    assert settle(d, idx, tree, 0, rs[0], p.token_account).ok
    assert d.h.send([d.program.propose_slash(admin=d.admin.pubkey(), provider_wallet=p.pubkey, index=0, amount=1,
                                             evidence_hash=bytes(32), beneficiary=d.treasury)], [d.admin]).ok
    assert d.h.send([d.program.publish_price_book(admin=d.admin.pubkey(), version=1, sha256=bytes(32))],
                    [d.admin]).ok
    staged = d.h.send([d.program.update_config(admin=d.admin.pubkey(), min_stake=5)], [d.admin])
    assert staged.ok
    prog = d.program
    addrs = {"Config": prog.config_address(), "Customer": prog.customer_address(c.pubkey),
             "Provider": prog.provider_address(p.pubkey), "Channel": prog.channel_address(c.pubkey, p.pubkey),
             "Batch": prog.batch_address(idx), "Epoch": prog.epoch_address(0),
             "ProviderEpoch": prog.provider_epoch_address(p.pubkey, 0), "Slash": prog.slash_address(p.pubkey, 0),
             "PriceBook": prog.price_book_address(1)}
    assert set(addrs) == set(ACCOUNT_NAMES)
    for name, addr in addrs.items():
        raw = bytes(d.h.raw(addr).data)
        assert len(raw) == account_size(name)
        kind, value = decode_account(raw)
        assert kind == name and type(value) is gen_accounts.ACCOUNTS[name]
        assert value.encode() == raw  # the generated layout is the program's, byte for byte
    cfg = decode_account(bytes(d.h.raw(prog.config_address()).data))[1]
    assert cfg.meters[0].key == d.meter.pubkey() and cfg.meters[0].since_version == 1
    # the nested Params struct: in force and staged
    assert type(cfg.params) is gen_types.Params and cfg.params.arbiter == d.arbiter.pubkey()
    assert cfg.pending.min_stake == 5 and cfg.pending_at > 0 and cfg.params.min_stake != 5
    # a defined type inside an event: ConfigUpdated.pending
    updated = next(e for e in parse_events(staged.logs, prog.program_id) if e.name == "ConfigUpdated")
    assert updated.data.pending == cfg.pending and updated.data.pending_at == cfg.pending_at
    # events: the raw "Program data:" payload decodes to the same event
    line = next(x for x in r.logs if x.startswith("Program data: "))
    ev = decode_event(base64.b64decode(line.split()[2]))
    assert ev.name == "BatchPosted" and type(ev.data) is gen_events.EVENTS["BatchPosted"] and ev.data.root == tree.root
    d.conservation()
