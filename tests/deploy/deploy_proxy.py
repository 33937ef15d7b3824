"""A JSON-RPC proxy in front of a localnet, for the failures a public RPC has and a localnet does not: HTTP
429/503 answers, transactions accepted and then dropped (never forwarded, as a leader that loses them), a
connection that hangs (an interrupted deploy), or answers a localnet cannot give (devnet's genesis hash, a
feature-gate account).

`rule(method, request, seen)` decides per request (seen: how many requests of that method came before) and
returns None to forward it, or an action: ("status", code), ("drop",), ("hang",), ("result", value): the
upstream's answer with its `result` replaced."""
from __future__ import annotations

import base64
import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Optional

import based58
import httpx
from solders.transaction import Transaction

Rule = Callable[[str, dict, int], Optional[tuple]]


def tx_signature(request: dict) -> str:
    params = request["params"]
    enc = (params[1] if len(params) > 1 and isinstance(params[1], dict) else {}).get("encoding", "base58")
    raw = base64.b64decode(params[0]) if enc == "base64" else based58.b58decode(params[0].encode())
    return str(Transaction.from_bytes(raw).signatures[0])


class RpcProxy:
    def __init__(self, upstream: str, rule: Rule | None = None) -> None:
        self.upstream = upstream
        self.rule = rule or (lambda method, request, seen: None)
        self.seen: Counter = Counter()  # requests per method that reached the proxy
        self.forwarded: Counter = Counter()  # ... and that were answered by the upstream
        self.hanging = threading.Event()  # set once a request is held by ("hang",)
        self.release = threading.Event()
        self._lock = threading.Lock()
        self._http = httpx.Client(timeout=30)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                status, out = proxy._handle(body)
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def _handle(self, body: bytes) -> tuple[int, bytes]:
        request = json.loads(body)
        if isinstance(request, list):  # batches pass through
            return 200, self._http.post(self.upstream, content=body).content
        method = request.get("method", "")
        with self._lock:
            seen = self.seen[method]
            self.seen[method] += 1
        action = self.rule(method, request, seen)
        if action is None or action[0] == "result":
            out = self._http.post(self.upstream, content=body).content
            with self._lock:
                self.forwarded[method] += 1
            if action is not None:
                answer = json.loads(out)
                answer["result"] = action[1]
                out = json.dumps(answer).encode()
            return 200, out
        if action[0] == "status":
            return action[1], b""
        if action[0] == "drop":
            return 200, json.dumps({"jsonrpc": "2.0", "id": request.get("id"),
                                    "result": tx_signature(request)}).encode()
        if action[0] == "hang":
            self.hanging.set()
            self.release.wait(120)
            return 503, b""
        raise ValueError(f"unknown proxy action {action!r}")

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self._http.close()

    def __enter__(self) -> "RpcProxy":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
