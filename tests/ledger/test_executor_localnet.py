"""The intent executor against the real embedded localnet over JSON-RPC: confirm, crash after the signature
is stored but before sending, crash after sending, expiry of an unsent transaction, and an RPC outage.
The action here is a plain system transfer (a fresh destination shows exactly how many times it landed);
the billing-program actions reuse the same executor."""
from __future__ import annotations

import socket

import pytest
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer

from ledger.engine.chain import ChainUnavailable, RpcChain
from ledger.engine.executor import Executor
from ledger.engine.intents import IntentStore

localnet = pytest.importorskip("localnet")

AMOUNT = 1_234_567


class Crash(BaseException):
    """Stands for the process dying at a fault point (nothing after it runs)."""


class TransferAction:
    kind = "transfer"

    def __init__(self, payer: Keypair) -> None:
        self.payer = payer

    def instructions(self, payload):
        ix = transfer(TransferParams(from_pubkey=self.payer.pubkey(), to_pubkey=Pubkey.from_string(payload["to"]),
                                     lamports=payload["lamports"]))
        return [ix], []

    def done(self, chain, payload):
        data = chain.lamports(Pubkey.from_string(payload["to"]))
        return data >= payload["lamports"]

    def on_confirmed(self, session, intent, signature):
        self.confirmed = getattr(self, "confirmed", 0) + 1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def node(tmp_path):
    port, ws = _free_port(), _free_port()
    h = localnet.start_in_process(ledger_dir=tmp_path / "chain", port=port, ws_port=ws)
    h.port, h.ws = port, ws
    h.ledger_dir = tmp_path / "chain"
    yield h
    h.stop()


@pytest.fixture
def payer(node):
    kp = Keypair()
    chain = RpcChain(node.rpc_url)
    chain.airdrop(kp.pubkey(), 10_000_000_000)
    return kp


def _executor(sf, url, payer, fault=None):
    kw = {"fault": fault} if fault else {}
    return Executor(sf, RpcChain(url), payer, [TransferAction(payer)], poll_interval_s=0.02, **kw)


def _crash_at(point):
    def fault(p):
        if p == point:
            raise Crash(p)
    return fault


def _balance(url, who: str) -> int:
    return RpcChain(url).lamports(Pubkey.from_string(who))


def test_an_intent_is_confirmed_once(session_factory, node, payer):
    to = str(Keypair().pubkey())
    intent = IntentStore(session_factory).record(f"t:{to}", "transfer", to, {"to": to, "lamports": AMOUNT})
    out = _executor(session_factory, node.rpc_url, payer).drive(intent.id)
    assert out.state == "confirmed" and out.signature
    assert _balance(node.rpc_url, to) == AMOUNT
    again = _executor(session_factory, node.rpc_url, payer).drive(intent.id)
    assert again.state == "confirmed" and _balance(node.rpc_url, to) == AMOUNT


@pytest.mark.parametrize("point", ["after_record_signature", "after_send", "after_confirmed"])
def test_a_crash_at_any_point_is_resolved_from_the_chain_without_paying_twice(session_factory, node, payer, point):
    to = str(Keypair().pubkey())
    intent = IntentStore(session_factory).record(f"t:{to}", "transfer", to, {"to": to, "lamports": AMOUNT})
    with pytest.raises(Crash):
        _executor(session_factory, node.rpc_url, payer, _crash_at(point)).drive(intent.id)
    stored = IntentStore(session_factory).get(intent.id)
    assert stored.signature  # the signature was on disk before anything reached the RPC
    out = _executor(session_factory, node.rpc_url, payer).drive(intent.id)  # "restart"
    assert out.state == "confirmed"
    assert out.signature == stored.signature  # resolved or resent as the SAME transaction
    assert _balance(node.rpc_url, to) == AMOUNT


def test_an_unsent_transaction_whose_blockhash_expired_is_rebuilt_once(session_factory, node, payer):
    to = str(Keypair().pubkey())
    intent = IntentStore(session_factory).record(f"t:{to}", "transfer", to, {"to": to, "lamports": AMOUNT})
    with pytest.raises(Crash):
        _executor(session_factory, node.rpc_url, payer, _crash_at("after_record_signature")).drive(intent.id)
    first_sig = IntentStore(session_factory).get(intent.id).signature
    node.call(lambda bank: bank.time_travel(slot=bank.slot + 400))  # past last_valid_block_height
    out = _executor(session_factory, node.rpc_url, payer).drive(intent.id)
    assert out.state == "confirmed" and out.signature != first_sig
    assert IntentStore(session_factory).get(intent.id).attempts == 2
    assert _balance(node.rpc_url, to) == AMOUNT


def test_an_rpc_outage_leaves_the_intent_open_and_it_completes_after(session_factory, node, payer, tmp_path):
    to = str(Keypair().pubkey())
    intent = IntentStore(session_factory).record(f"t:{to}", "transfer", to, {"to": to, "lamports": AMOUNT})
    node.stop()
    with pytest.raises(ChainUnavailable):
        _executor(session_factory, node.rpc_url, payer).drive(intent.id)
    assert IntentStore(session_factory).get(intent.id).state == "pending"
    h = localnet.start_in_process(ledger_dir=node.ledger_dir, port=node.port, ws_port=node.ws)  # same ledger, same URL
    try:
        out = _executor(session_factory, h.rpc_url, payer).drive(intent.id)
        assert out.state == "confirmed" and _balance(h.rpc_url, to) == AMOUNT
    finally:
        h.stop()


class OversizeAction(TransferAction):
    kind = "oversize"

    def instructions(self, payload):
        from solders.instruction import Instruction

        memo = Pubkey.from_string("MemoSq4gqABAXKQvRe9FSsiczqB3e4mhFwvLc2sLLzS")
        return [Instruction(memo, b"x" * 1300, [])], []


def test_a_transaction_too_large_to_send_fails_with_a_clear_reason(session_factory, node, payer):
    to = str(Keypair().pubkey())
    intent = IntentStore(session_factory).record("big", "oversize", to, {"to": to, "lamports": AMOUNT})
    ex = Executor(session_factory, RpcChain(node.rpc_url), payer, [OversizeAction(payer)], poll_interval_s=0.02)
    out = ex.drive(intent.id)
    stored = IntentStore(session_factory).get(intent.id)
    assert out.state == "failed" and stored.signature is None  # never recorded as sent
    assert "too large" in stored.error and "> 1232" in stored.error


class UnknownBlockhashOnce(RpcChain):
    """A node that hands out a blockhash the cluster does not know (a load-balanced RPC whose nodes lag one
    another): the first transaction built on it is refused at preflight with BlockhashNotFound."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.lied = False

    def latest_blockhash(self):
        bh, last_valid = super().latest_blockhash()
        if not self.lied:
            from solders.hash import Hash

            self.lied = True
            return Hash.new_unique(), last_valid
        return bh, last_valid


def test_a_transient_refusal_keeps_the_intent_sent_and_it_lands_after_a_rebuild(session_factory, node, payer):
    """BlockhashNotFound is transient: the intent is not failed (nothing to retry by hand); it stays `sent`
    and, once its blockhash can no longer land, is rebuilt on a fresh one and confirmed, paid once."""
    to = str(Keypair().pubkey())
    intent = IntentStore(session_factory).record(f"t:{to}", "transfer", to, {"to": to, "lamports": AMOUNT})
    chain = UnknownBlockhashOnce(node.rpc_url)
    ex = Executor(session_factory, chain, payer, [TransferAction(payer)], poll_interval_s=0.02, confirm_polls=3)
    out = ex.drive(intent.id)
    assert chain.lied and out.state == "sent"
    stored = IntentStore(session_factory).get(intent.id)
    assert stored.state == "sent" and stored.error == ""
    node.call(lambda bank: bank.time_travel(slot=bank.slot + 400))  # past the stored last_valid_block_height
    out = ex.drive(intent.id)
    assert out.state == "confirmed" and out.signature != stored.signature
    assert _balance(node.rpc_url, to) == AMOUNT


def test_a_refused_transaction_is_stored_by_name_in_words(session_factory, node, payer):
    """A system transfer of more lamports than the payer has: the executor stores "ResultWithNegativeLamports"
    and the system program's own words, never "custom program error: 0x1"."""
    to = str(Keypair().pubkey())
    intent = IntentStore(session_factory).record(f"t:{to}", "transfer", to, {"to": to, "lamports": 10**18})
    out = _executor(session_factory, node.rpc_url, payer).drive(intent.id)
    stored = IntentStore(session_factory).get(intent.id)
    assert out.state == stored.state == "failed"
    assert stored.error.startswith("instruction 0 (system program): ResultWithNegativeLamports: the payer has too "
                                   "few lamports"), stored.error
    assert "insufficient lamports" in stored.error and "0x" not in stored.error


class NoPreflight(RpcChain):
    """An RPC used with skip_preflight (as some senders do to save a round trip): a failing transaction
    lands, pays its fee, and its error comes back only in its status."""

    def send_raw(self, tx: bytes) -> str:
        return str(self.client.send_raw_transaction(tx, skip_preflight=True))


def test_a_landed_failure_is_stored_by_name_with_the_programs_words(session_factory, node, payer):
    to = str(Keypair().pubkey())
    intent = IntentStore(session_factory).record(f"t:{to}", "transfer", to, {"to": to, "lamports": 10**18})
    ex = Executor(session_factory, NoPreflight(node.rpc_url), payer, [TransferAction(payer)], poll_interval_s=0.02)
    out = ex.drive(intent.id)
    stored = IntentStore(session_factory).get(intent.id)
    assert out.state == stored.state == "failed" and stored.signature  # it landed: a signature with a status
    assert stored.error.startswith("instruction 0 (system program): ResultWithNegativeLamports"), stored.error
    assert "insufficient lamports" in stored.error and "0x" not in stored.error and "Custom(" not in stored.error
