"""The committed IDL is what anchorpy 0.21 reads, is generated from the current Rust source, and the
client built on it encodes every instruction and decodes every account and event the program writes."""
import json

from anchorpy import Idl
from anchorpy.coder.coder import Coder
from pyheck import snake

from contracts import IDL_PATH
from contracts.client import (ACCOUNT_NAMES, account_size, decode_account, decode_event, error_code,
                              error_from_code, errors_by_code)
from contracts.idl import generate, protocol
from contracts.testing import deploy, post_batch, receipt_chain, settle


def test_idl_parses_with_anchorpy_and_lists_everything():
    idl = Idl.from_json(IDL_PATH.read_text())
    coder = Coder(idl)
    assert len(idl.instructions) == 27
    assert {a.name for a in idl.accounts} == set(ACCOUNT_NAMES)
    assert len(idl.events) == 26
    codes = [e.code for e in idl.errors]
    assert codes == list(range(6000, 6000 + len(codes)))
    # the instruction coder round-trips
    raw = json.loads(IDL_PATH.read_text())
    assert {snake(i["name"]) for i in raw["instructions"]} == set(coder.instruction.sighashes)
    data = coder.instruction.encode("deposit", {"amount": 7})
    assert coder.instruction.parse(data).data.amount == 7


def test_idl_and_protocol_are_current():
    assert generate.main(["--check"]) == 0
    assert protocol.main(["--check"]) == 0


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
        kind, _ = decode_account(raw)
        assert kind == name
    # events: the raw "Program data:" payload decodes to the same event
    import base64
    line = next(x for x in r.logs if x.startswith("Program data: "))
    ev = decode_event(base64.b64decode(line.split()[2]))
    assert ev.name == "BatchPosted" and bytes(ev.data.root) == tree.root
    d.conservation()
