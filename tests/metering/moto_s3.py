"""A real S3 API server for the storage tests and bench/storage_s3_listing.py: moto's server (werkzeug, HTTP,
SigV4 checked against moto's IAM when --auth is given) in a child process on 127.0.0.1 and a free port.

Test control goes through /_test/ endpoints of the same server, beside the S3 API (no bucket is named
"_test"): seeding a bucket straight into moto's store (100,000 objects in seconds, where 100,000 PUTs would
take minutes), creating IAM users with access keys, and making a bucket's listing fail from its second page
on: an S3 error, or the server process exiting, deterministically at that request and not by timing.

    python tests/metering/moto_s3.py [--auth]     # prints "PORT <n>" once it listens
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import parse_qs

import httpx

ACCOUNT = "123456789012"  # moto's default account
READ_POLICY = json.dumps({"Version": "2012-10-17",
                          "Statement": [{"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": "*"}]})
ERROR_XML = ('<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>{msg}</Message>'
             '<RequestId>solmeter-test</RequestId></Error>')


class MotoS3:
    """The parent side: start the child, seed, fault, stop."""

    def __init__(self, auth: bool = False):
        self.auth = auth
        self.proc: subprocess.Popen | None = None
        self.url = ""

    def start(self) -> "MotoS3":
        args = [sys.executable, str(Path(__file__).resolve())] + (["--auth"] if self.auth else [])
        # stdin is a pipe the child watches: when this process goes, however it goes, the server goes too
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     text=True)
        line = self.proc.stdout.readline()  # blocks until the child listens (or dies: empty line)
        if not line.startswith("PORT "):
            self.proc.kill()
            raise RuntimeError(f"moto S3 server did not start (exit {self.proc.wait()})")
        self.url = f"http://127.0.0.1:{int(line.split()[1])}"
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(20)
        if self.proc:
            self.proc.stdin.close()
            self.proc.stdout.close()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _post(self, path: str, body: dict) -> dict:
        r = httpx.post(f"{self.url}/_test/{path}", json=body, timeout=300)
        r.raise_for_status()
        return r.json()

    def seed(self, bucket: str, count: int, classes: list[str], *, prefix: str = "", size_mod: int = 997,
             start: int = 0) -> dict[str, list[int]]:
        """Objects prefix + i (i from start) of size i % size_mod + 1 and class classes[i % len]; answers the
        bucket's true totals per class, {class: [bytes, objects]}, read from moto's store, not its API."""
        return self._post("seed", {"bucket": bucket, "count": count, "classes": classes, "prefix": prefix,
                                   "size_mod": size_mod, "start": start})

    def clear(self, bucket: str, storage_class: str) -> int:
        return self._post("clear", {"bucket": bucket, "storage_class": storage_class})["deleted"]

    def user(self, name: str, policy: str | None = READ_POLICY) -> tuple[str, str]:
        d = self._post("user", {"name": name, "policy": policy})
        return d["key"], d["secret"]

    def fault(self, bucket: str, mode: str | None) -> None:
        """mode: None (none), "500", "403", or "exit" for list requests of bucket carrying a continuation token."""
        self._post("fault", {"bucket": bucket, "mode": mode})

    def list_requests(self, bucket: str) -> int:
        return httpx.get(f"{self.url}/_test/stats", timeout=10).json().get(bucket, 0)


# ---- the child: moto's WSGI app behind a small control layer ----

def _serve(auth: bool) -> None:
    # moto takes seconds to import: only the child process, which serves it, loads it.
    from moto import settings
    from moto.iam.models import iam_backends
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from moto.s3.models import s3_backends
    from werkzeug.serving import make_server

    if auth:
        settings.INITIAL_NO_AUTH_ACTION_COUNT = 0  # every S3 request is signed and checked against moto's IAM
    s3 = s3_backends[ACCOUNT]["aws"]
    iam = iam_backends[ACCOUNT]["global"]
    faults: dict[str, str] = {}
    lists: dict[str, int] = {}
    moto_app = DomainDispatcherApplication(create_backend_app)

    def reply(start_response, status: str, body: bytes, ctype: str = "application/json"):
        start_response(status, [("Content-Type", ctype), ("Content-Length", str(len(body)))])
        return [body]

    def control(path: str, body: dict) -> dict:
        if path == "/_test/seed":
            b = body["bucket"]
            if b not in s3.buckets:
                s3.create_bucket(b, "us-east-1")
            classes, mod, prefix = body["classes"], body["size_mod"], body["prefix"]
            for i in range(body["start"], body["start"] + body["count"]):
                s3.put_object(b, f"{prefix}{i:07d}", b"x" * (i % mod + 1), storage=classes[i % len(classes)])
            totals: dict[str, list[int]] = {}
            for k in s3.buckets[b].keys.values():
                t = totals.setdefault(k.storage_class, [0, 0])
                t[0] += k.size
                t[1] += 1
            return totals
        if path == "/_test/clear":  # delete a bucket's objects of one storage class
            gone = [n for n, k in s3.buckets[body["bucket"]].keys.items() if k.storage_class == body["storage_class"]]
            for n in gone:
                s3.delete_object(body["bucket"], n)
            return {"deleted": len(gone)}
        if path == "/_test/user":
            iam.create_user("us-east-1", body["name"])
            if body["policy"]:
                iam.put_user_policy(body["name"], "read", body["policy"])
            k = iam.create_access_key(body["name"])
            return {"key": k.access_key_id, "secret": k.secret_access_key}
        if path == "/_test/fault":
            if body["mode"] is None:
                faults.pop(body["bucket"], None)
            else:
                faults[body["bucket"]] = body["mode"]
            return {}
        if path == "/_test/stats":
            return lists
        raise KeyError(path)

    def app(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_test/"):
            n = int(environ.get("CONTENT_LENGTH") or 0)
            body = json.loads(environ["wsgi.input"].read(n) or b"{}")
            return reply(start_response, "200 OK", json.dumps(control(path, body)).encode())
        q = parse_qs(environ.get("QUERY_STRING", ""))
        bucket = path.strip("/").split("/")[0]
        if environ["REQUEST_METHOD"] == "GET" and q.get("list-type") == ["2"]:
            lists[bucket] = lists.get(bucket, 0) + 1
            mode = faults.get(bucket) if "continuation-token" in q else None
            if mode == "exit":
                os._exit(3)  # the server is gone mid-listing: no answer to this page, nothing listening after
            if mode == "500":
                return reply(start_response, "500 Internal Server Error",
                             ERROR_XML.format(code="InternalError", msg="injected").encode(), "application/xml")
            if mode == "403":
                return reply(start_response, "403 Forbidden",
                             ERROR_XML.format(code="AccessDenied", msg="Access Denied").encode(), "application/xml")
        return moto_app(environ, start_response)

    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=MotoRequestHandler)
    threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()  # parent gone: EOF
    print(f"PORT {server.server_port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    _serve("--auth" in sys.argv[1:])
