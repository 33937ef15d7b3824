"""The chain layer: pure request builders, the one response parser and its error mapping, and the sync client
against a real localnet and a real misbehaving HTTP server."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from solders.hash import Hash
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction

import localnet
from chain import ChainError, ChainUnavailable, RpcClient, RpcError, TxRejected
from chain import requests as Q
from chain.responses import parse, parse_batch
from contracts.client import BillingProgram


def test_request_builders_are_pure_values():
    pk = Pubkey.new_unique()
    r = Q.get_program_accounts(pk, Q.commitment_level("confirmed"), memcmp=[(0, b"\x00\x01ab")], data_size=165)
    body = json.loads(r.body.to_json())
    assert body["method"] == "getProgramAccounts" and body["params"][0] == str(pk)
    cfg = body["params"][1]
    assert cfg["commitment"] == "confirmed" and cfg["encoding"] == "base64"
    assert cfg["filters"] == [{"memcmp": {"offset": 0, "encoding": "base58", "bytes": Q.base58(b"\x00\x01ab")}},
                              {"dataSize": 165}]
    assert Q.base58(b"\x00\x01ab").startswith("1")  # a leading zero byte is a leading '1'
    with pytest.raises(ValueError, match="at most 256"):
        Q.get_signature_statuses([Keypair().sign_message(b"x")] * 257)
    with pytest.raises(ValueError, match="unknown commitment 'recent'"):
        Q.commitment_level("recent")


def _preflight(code_hex: str) -> str:
    return json.dumps({"jsonrpc": "2.0", "id": 0, "error": {
        "code": -32002, "message": f"Transaction simulation failed: Error processing Instruction 0: custom program "
                                   f"error: 0x{code_hex}",
        "data": {"err": {"InstructionError": [0, {"Custom": int(code_hex, 16)}]},
                 "logs": ["Program x invoke [1]", f"Program x failed: custom program error: 0x{code_hex}"],
                 "accounts": None, "unitsConsumed": 451, "returnData": None}}})


def test_responses_map_errors_to_the_hierarchy():
    from solders.rpc.responses import GetAccountInfoResp, SendTransactionResp

    with pytest.raises(TxRejected) as e:
        parse(_preflight("177d"), SendTransactionResp)  # 6013
    assert e.value.program_error.name == "Paused" and e.value.units == 451 and e.value.code == -32002
    assert "Paused (6013)" in str(e.value) and "0x" not in str(e.value)
    with pytest.raises(TxRejected) as e:  # a code that is not the billing program's keeps the node's words
        parse(_preflight("1"), SendTransactionResp)
    assert e.value.program_error is None and "custom program error: 0x1" in str(e.value)
    unhealthy = {"jsonrpc": "2.0", "id": 0, "error": {"code": -32005, "message": "Node is behind by 42 slots",
                                                      "data": {"numSlotsBehind": 42}}}
    with pytest.raises(ChainUnavailable, match="behind"):
        parse(json.dumps(unhealthy), GetAccountInfoResp)
    bad = {"jsonrpc": "2.0", "id": 0, "error": {"code": -32602, "message": "Invalid param: WrongSize"}}
    with pytest.raises(RpcError) as e:
        parse(json.dumps(bad), GetAccountInfoResp)
    assert e.value.code == -32602 and not isinstance(e.value, TxRejected)
    with pytest.raises(RpcError, match="malformed"):
        parse("<html>", GetAccountInfoResp)


def test_a_batch_keeps_good_answers_beside_a_refused_one():
    from solders.rpc.responses import GetSlotResp

    reqs = [Q.get_slot(Q.commitment_level("confirmed"), id=i) for i in range(3)]
    raw = json.dumps([{"jsonrpc": "2.0", "id": 2, "result": 7},
                      {"jsonrpc": "2.0", "id": 0, "result": 5},
                      {"jsonrpc": "2.0", "id": 1, "error": {"code": -32602, "message": "nope"}}])
    got = parse_batch(raw, reqs)
    assert isinstance(got[0], GetSlotResp) and got[0].value == 5 and got[2].value == 7
    assert isinstance(got[1], RpcError) and got[1].code == -32602
    with pytest.raises(RpcError, match="refused the batch"):
        parse_batch(json.dumps({"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "no batches"}}),
                    reqs)


class _Status503(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (http.server's naming)
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(503)
        self.end_headers()
        self.wfile.write(b"overloaded")

    def log_message(self, *a):
        pass


def test_transport_failures_are_chain_unavailable():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Status503)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        with RpcClient(f"http://127.0.0.1:{srv.server_address[1]}", timeout=5) as c:
            with pytest.raises(ChainUnavailable, match="HTTP 503"):
                c.get_slot()
    finally:
        srv.shutdown()
        srv.server_close()
    with RpcClient(f"http://127.0.0.1:{srv.server_address[1]}", timeout=2) as c:  # nobody listens now
        with pytest.raises(ChainUnavailable, match="unreachable"):
            c.get_latest_blockhash()


def test_client_against_the_localnet(tmp_path):
    with localnet.start_in_process(ledger_dir=tmp_path / "l") as h, RpcClient(h.rpc_url) as c:
        payer, to = Keypair(), Keypair().pubkey()
        c.confirm(c.request_airdrop(payer.pubkey(), 10**9))
        assert c.get_balance(payer.pubkey()) == 10**9
        bh, last_valid = c.get_latest_blockhash()
        assert last_valid > c.get_block_height()
        ix = transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=to, lamports=2_000_000))
        tx = VersionedTransaction(MessageV0.try_compile(payer.pubkey(), [ix], [], bh), [payer])
        sig = c.send_transaction(tx)
        st = c.confirm(sig)
        assert st.err is None
        assert [s.signature for s in c.get_signatures_for_address(to)] == [sig]
        txs = c.get_transactions([sig, str(sig)])  # one batch request
        assert [t.transaction.meta.fee for t in txs] == [5000, 5000]
        assert c.get_multiple_accounts([to, Pubkey.new_unique()])[1] is None
        # a refused transaction: the simulation's logs and error come back, nothing lands
        with pytest.raises(TxRejected) as e:
            c.send_transaction(VersionedTransaction(MessageV0.try_compile(
                payer.pubkey(), [transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=to,
                                                         lamports=10**12))], [], bh), [payer]))
        assert e.value.logs and e.value.program_error is None
        # the billing program's own error, by name
        prog = BillingProgram()
        bad = prog.request_withdrawal(wallet=payer.pubkey(), amount=1)  # no Config, no Customer
        with pytest.raises(TxRejected) as e:
            c.send_transaction(VersionedTransaction(MessageV0.try_compile(payer.pubkey(), [bad], [], bh), [payer]))
        assert e.value.program_error is not None and e.value.program_error.name in str(e.value)
        with pytest.raises(ChainError, match="not confirmed within"):
            c.confirm(Keypair().sign_message(b"never sent"), timeout_s=0.2)
        # the cluster's identity, and a simulation of an unsigned transaction on the node's newest blockhash
        assert str(c.get_genesis_hash()) == str(h.node.bank.genesis_hash)
        unsigned = VersionedTransaction.populate(MessageV0.try_compile(payer.pubkey(), [ix], [], Hash.default()),
                                                 [Signature.default()])
        sim = c.simulate_transaction(unsigned)
        assert sim.err is None and sim.units_consumed == 150 and sim.logs[-1].endswith("success")
