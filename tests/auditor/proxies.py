"""A real HTTP proxy on 127.0.0.1 that rewrites what an upstream server answers: the attacker in front of the
meter API (a GET rewritten) or a lying RPC node (a JSON-RPC POST answered with edited results).

`rewrite(method, path, request_body, status, answer)` gets the decoded JSON of the request (None for a
GET) and of the upstream answer and returns the JSON to serve (it may edit `answer` in place); an answer
returned unchanged is forwarded byte for byte, and `bytes` returned are served as they are. The server runs on its own thread; `url` is ready when the context manager yields
(the socket is bound and listening before the thread starts, so nothing waits on timing)."""
from __future__ import annotations

import json
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterator

import httpx

Rewrite = Callable[[str, str, Any, int, Any], Any]


def transparent(_method, _path, _body, _status, answer):
    return answer


@contextmanager
def rewriting_proxy(upstream: str, rewrite: Rewrite = transparent) -> Iterator[str]:
    client = httpx.Client(base_url=upstream.rstrip("/"), timeout=30)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_a):  # quiet
            pass

        def _forward(self, method: str) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)) if method == "POST" else None
            # the request's signature headers go through untouched: the proxy rewrites answers, not who asks
            headers = {k: v for k, v in self.headers.items() if k.lower().startswith("x-solmeter-")}
            headers["Content-Type"] = self.headers.get("Content-Type", "application/json")
            resp = client.request(method, self.path, content=raw, headers=headers)
            try:
                answer = resp.json()
            except ValueError:
                answer = None
            body = json.loads(raw) if raw else None
            out = rewrite(method, self.path, body, resp.status_code, answer) if answer is not None else None
            # an answer left as it was goes out byte for byte (a price book file is hashed as served)
            if isinstance(out, bytes):  # raw bytes to serve instead (a file)
                data = out
            else:
                data = resp.content if out is None or out == resp.json() else json.dumps(out).encode()
            self.send_response(resp.status_code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):  # noqa: N802 (http.server's naming)
            self._forward("GET")

        def do_POST(self):  # noqa: N802
            self._forward("POST")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        client.close()
        t.join(10)
