"""Raw JSON-RPC over httpx, for requests that solana-py would refuse to build (malformed ones, batches)."""
from __future__ import annotations

import httpx


def rpc(url: str, method: str, params=None, *, rid=1) -> dict:
    body = {"jsonrpc": "2.0", "id": rid, "method": method}
    if params is not None:
        body["params"] = params
    r = httpx.post(url, json=body, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def raw(url: str, content: bytes, headers=None) -> httpx.Response:
    return httpx.post(url, content=content, headers=headers or {"Content-Type": "application/json"}, timeout=30)
