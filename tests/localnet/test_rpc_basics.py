"""Envelope handling, node/cluster methods and their exact shapes (parsed by solders' strict RPC types)."""
from __future__ import annotations

import json

import httpx
import pytest
from solders.rpc import responses as R

from localnet_rpc_helpers import raw, rpc


def _parse(resp_type, body: dict):
    parsed = resp_type.from_json(json.dumps(body))
    assert not isinstance(parsed, R.RPCError.__args__ if hasattr(R.RPCError, "__args__") else ()), body
    return parsed


@pytest.mark.parametrize(
    "method,params,resp_type",
    [
        ("getHealth", None, R.GetHealthResp),
        ("getVersion", None, R.GetVersionResp),
        ("getIdentity", None, R.GetIdentityResp),
        ("getGenesisHash", None, R.GetGenesisHashResp),
        ("getSlot", [{"commitment": "finalized"}], R.GetSlotResp),
        ("getBlockHeight", None, R.GetBlockHeightResp),
        ("getEpochInfo", None, R.GetEpochInfoResp),
        ("getEpochSchedule", None, R.GetEpochScheduleResp),
        ("getLatestBlockhash", [{"commitment": "confirmed"}], R.GetLatestBlockhashResp),
        ("getMinimumBalanceForRentExemption", [165], R.GetMinimumBalanceForRentExemptionResp),
        ("getSupply", None, R.GetSupplyResp),
        ("getInflationGovernor", None, R.GetInflationGovernorResp),
        ("getInflationRate", None, R.GetInflationRateResp),
        ("getClusterNodes", None, R.GetClusterNodesResp),
        ("getRecentPerformanceSamples", [5], R.GetRecentPerformanceSamplesResp),
        ("getTransactionCount", None, R.GetTransactionCountResp),
        ("getFirstAvailableBlock", None, R.GetFirstAvailableBlockResp),
        ("minimumLedgerSlot", None, R.MinimumLedgerSlotResp),
        ("getSlotLeader", None, R.GetSlotLeaderResp),
        ("getVoteAccounts", None, R.GetVoteAccountsResp),
        ("getBlockProduction", None, R.GetBlockProductionResp),
        ("getHighestSnapshotSlot", None, R.GetHighestSnapshotSlotResp),
        ("getMaxRetransmitSlot", None, R.GetMaxRetransmitSlotResp),
        ("getMaxShredInsertSlot", None, R.GetMaxShredInsertSlotResp),
        ("getLargestAccounts", None, R.GetLargestAccountsResp),
    ],
)
def test_node_methods_parse_with_solders(node, method, params, resp_type):
    body = rpc(node.rpc_url, method, params)
    assert "result" in body, body
    parsed = resp_type.from_json(json.dumps(body))
    assert type(parsed) is resp_type


def test_rent_and_blockhash_values_are_consistent(node, client):
    assert client.get_minimum_balance_for_rent_exemption(165).value == 2039280
    bh = client.get_latest_blockhash().value
    body = rpc(node.rpc_url, "isBlockhashValid", [str(bh.blockhash)])
    assert R.IsBlockhashValidResp.from_json(json.dumps(body)).value is True
    assert rpc(node.rpc_url, "isBlockhashValid", ["11111111111111111111111111111111"])["result"]["value"] is False
    assert bh.last_valid_block_height == client.get_block_height().value + 150
    info = client.get_epoch_info().value
    assert info.absolute_slot == client.get_slot().value and info.slots_in_epoch == 432000


def test_unknown_method_is_32601(node):
    body = rpc(node.rpc_url, "getNoSuchThing", [])
    assert body["error"]["code"] == -32601 and body["id"] == 1


@pytest.mark.parametrize("payload", [b'{"jsonrpc": "2.0", "id": 1, "method": ', b"\xff\xfe\x00garbage",
                                     b"[" * 100_000, b""])
def test_malformed_json_is_32700_with_null_id(node, payload):
    r = raw(node.rpc_url, payload)
    assert r.status_code == 200
    assert r.json() == {"jsonrpc": "2.0", "error": {"code": -32700, "message": "Parse error"}, "id": None}


@pytest.mark.parametrize("payload,id_json", [
    (b'{"jsonrpc":"2.0","id":1,"method":"getHealth","x":NaN}', b"1"),  # json's extension: NaN, Infinity
    (b'{"jsonrpc":"2.0","id":2,"method":"getHealth","x":"\\ud800"}', b"2"),  # a lone surrogate
    (b'\xef\xbb\xbf{"jsonrpc":"2.0","id":3,"method":"getHealth"}', b"3"),  # a UTF-8 byte-order mark
    (b'{"jsonrpc":"2.0","id":NaN,"method":"getHealth"}', b"NaN"),  # echoed as the stdlib writes it
])
def test_lenient_json_is_answered_as_the_stdlib_parser_did(node, payload, id_json):
    """Bodies are parsed with msgspec (strict RFC 8259) first; what it refuses but Python's json accepted must
    still be answered, byte for byte as before (the json fallback), not become -32700."""
    r = raw(node.rpc_url, payload)
    assert r.content == b'{"jsonrpc":"2.0","result":"ok","id":' + id_json + b"}", r.content


@pytest.mark.parametrize(
    "payload",
    [b"[]", b"42", b'"getSlot"', b'{"jsonrpc":"1.0","id":1,"method":"getSlot"}', b'{"jsonrpc":"2.0","id":1}',
     b'{"jsonrpc":"2.0","id":{"a":1},"method":"getSlot"}', b'{"jsonrpc":"2.0","id":1,"method":7}'],
)
def test_invalid_requests_are_32600(node, payload):
    r = raw(node.rpc_url, payload)
    assert r.json()["error"]["code"] == -32600


@pytest.mark.parametrize(
    "method,params,needle",
    [
        ("getBalance", ["not-a-pubkey"], "pubkey (params[0])"),
        ("getBalance", [], "missing required parameter `pubkey`"),
        ("getAccountInfo", ["11111111111111111111111111111111", {"encoding": "hex"}], "encoding"),
        ("getAccountInfo", ["11111111111111111111111111111111", {"dataSlice": {"offset": -1, "length": 2}}], "dataSlice"),
        ("getMultipleAccounts", ["11111111111111111111111111111111"], "pubkeys"),
        ("getSlot", [{"commitment": "instant"}], "commitment"),
        ("getBlock", ["ten"], "slot"),
        ("getSignatureStatuses", [["xyz"]], "signatures[0]"),
        ("getSignaturesForAddress", ["11111111111111111111111111111111", {"limit": 5000}], "limit"),
        ("getProgramAccounts", ["11111111111111111111111111111111", {"filters": [{"memcmp": {"offset": 0}}]}],
         "filters[0]"),
        ("getTokenAccountsByOwner", ["11111111111111111111111111111111", {"foo": 1}], "params[1]"),
        ("sendTransaction", [12], "transaction"),
        ("sendTransaction", ["!!!", {"encoding": "base64"}], "base64"),
        ("requestAirdrop", ["11111111111111111111111111111111", -5], "lamports"),
        ("getMinimumBalanceForRentExemption", ["big"], "dataLength"),
        ("getBalance", {"pubkey": "x"}, "params"),
    ],
)
def test_bad_params_are_32602_naming_the_parameter(node, method, params, needle):
    body = rpc(node.rpc_url, method, params)
    assert body["error"]["code"] == -32602, body
    assert needle in body["error"]["message"], body["error"]["message"]


def test_batch_answers_each_call_in_order(node):
    batch = [
        {"jsonrpc": "2.0", "id": 1, "method": "getSlot"},
        {"jsonrpc": "2.0", "id": "two", "method": "nope"},
        {"jsonrpc": "2.0", "id": 3, "method": "getBalance", "params": ["bad"]},
        {"jsonrpc": "2.0", "id": 4, "method": "getHealth"},
    ]
    out = raw(node.rpc_url, json.dumps(batch).encode()).json()
    assert [o["id"] for o in out] == [1, "two", 3, 4]
    assert isinstance(out[0]["result"], int)
    assert out[1]["error"]["code"] == -32601 and out[2]["error"]["code"] == -32602
    assert out[3]["result"] == "ok"
    parsed = R.batch_from_json(json.dumps([out[0], out[3]]), [R.GetSlotResp, R.GetHealthResp])
    assert parsed[1].value == "ok" if hasattr(parsed[1], "value") else True


def test_cors_preflight_and_headers_for_the_explorer(node):
    r = httpx.options(node.rpc_url, headers={"Origin": "https://explorer.solana.com",
                                             "Access-Control-Request-Method": "POST",
                                             "Access-Control-Request-Headers": "content-type,solana-client"})
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == "*"
    assert "content-type" in r.headers["access-control-allow-headers"].lower()
    r = httpx.post(node.rpc_url, json={"jsonrpc": "2.0", "id": 1, "method": "getSlot"},
                   headers={"Origin": "https://explorer.solana.com"})
    assert r.headers["access-control-allow-origin"] == "*"


def test_get_health_over_http_get(node):
    assert httpx.get(node.rpc_url + "/health").text == "ok"


def test_garbage_on_the_socket_does_not_crash_the_server(node):
    import socket
    from urllib.parse import urlparse

    u = urlparse(node.rpc_url)
    for junk in (b"\x00\xff garbage\r\n\r\n", b"POST / HTTP/1.1\r\nContent-Length: nope\r\n\r\n",
                 b"POST / HTTP/1.1\r\nContent-Length: 999999999999\r\n\r\n"):
        with socket.create_connection((u.hostname, u.port), timeout=5) as s:
            s.sendall(junk)
            s.recv(4096)
    assert rpc(node.rpc_url, "getHealth")["result"] == "ok"


def test_cheat_codes_are_refused_unless_enabled(tmp_path):
    import localnet

    with localnet.start_in_process(cheats=False) as h:
        body = rpc(h.rpc_url, "surfnet_timeTravel", [{"absoluteSlot": 100}])
        assert body["error"]["code"] == -32601 and "cheat" in body["error"]["message"]
        assert rpc(h.rpc_url, "getSlot")["result"] < 100


def test_expect_100_continue_is_answered(node):
    """curl sends bodies over 1 KiB only after a `100 Continue` (or a one-second timeout)."""
    import socket
    from urllib.parse import urlparse

    u = urlparse(node.rpc_url)
    body = json.dumps({"jsonrpc": "2.0", "id": 7, "method": "getHealth", "params": [], "pad": "x" * 2000}).encode()
    with socket.create_connection((u.hostname, u.port), timeout=5) as s:
        s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nExpect: 100-continue\r\n"
                  b"Content-Length: %d\r\n\r\n" % len(body))
        assert s.recv(4096).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        s.sendall(body)
        resp = b""
        while not resp.endswith(b"}"):
            resp += s.recv(4096)
    assert resp.startswith(b"HTTP/1.1 200 OK") and resp.endswith(b'{"jsonrpc":"2.0","result":"ok","id":7}')
