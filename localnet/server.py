"""The node: one asyncio event loop that owns the bank, serves JSON-RPC over HTTP/1.1 (a small keep-alive
server on asyncio.Protocol: the hot path is a few string operations, which is what sustains thousands of
requests per second on one core), PubSub over WebSocket, the slot clock, and the ledger writer.

Durability: a request that changed state is answered only once the ledger batch holding its changes has
committed. The writer commits whatever accumulated while the previous fsync ran, so concurrent senders share
fsyncs (group commit) and throughput does not pay one fsync per transaction.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from websockets.asyncio.server import serve as ws_serve

from .bank import Bank
from .genesis import GenesisConfig
from .ledger import Ledger, LedgerError
from .pubsub import PubSub
from .rpc import Ctx, Dispatcher

log = logging.getLogger("localnet")
MAX_BODY = 50 * 1024 * 1024
MAX_HEAD = 64 * 1024
_CORS = (
    b"Access-Control-Allow-Origin: *\r\n"
    b"Access-Control-Allow-Methods: POST, GET, OPTIONS\r\n"
    b"Access-Control-Allow-Headers: Content-Type, solana-client\r\n"
    b"Access-Control-Max-Age: 86400\r\n"
)


@dataclass
class NodeConfig:
    host: str = "127.0.0.1"
    port: int = 8899
    ws_port: Optional[int] = None  # default: port + 1 (or a free port when port is 0)
    ledger_dir: Optional[Path] = None  # None: in memory only
    slot_ms: Optional[int] = 400  # None: every transaction closes a slot
    cheats: bool = False
    genesis: GenesisConfig = field(default_factory=GenesisConfig)
    finality_depth: Optional[int] = None  # blocks finalized trails confirmed by (None: 0 per-tx, else 32)
    block_subscription: bool = False  # blockSubscribe, behind a flag as in solana-test-validator
    vote_subscription: bool = False  # voteSubscribe, likewise


class Node:
    def __init__(self, config: NodeConfig) -> None:
        self.config = config
        self.ledger: Optional[Ledger] = Ledger(config.ledger_dir) if config.ledger_dir is not None else None
        try:
            self.bank = Bank(config.genesis, per_tx_slots=config.slot_ms is None,
                             finality_depth=config.finality_depth)
            if self.ledger is not None:
                state = self.ledger.load()
                if state.empty:
                    self.ledger.init_genesis(self.bank.genesis_hash, self.bank.slot, self.bank.blockhash,
                                             config.genesis.features)
                else:
                    if (state.features or config.genesis.features) != config.genesis.features:
                        raise LedgerError(
                            f"ledger {config.ledger_dir} was created with --features {state.features}: start it with "
                            f"--features {state.features}, or start from genesis with --reset")
                    self.bank.genesis_hash = state.genesis_hash
                    self.bank.restore(state)
        except BaseException:
            if self.ledger is not None:
                self.ledger.close()  # release the ledger lock for the next attempt
            raise
        self.identity = self.bank.identity
        self.pubsub = PubSub(self.bank, defer=lambda fn: self.on_durable(self.bank.op_seq, lambda err: err or fn()),
                             block_subscription=config.block_subscription, vote_subscription=config.vote_subscription,
                             voter=config.genesis.validator_keys()[0])
        self.ctx = Ctx(self.bank, self.identity, "", "", cheats=config.cheats)
        self.dispatcher = Dispatcher(self.ctx)
        self.rpc_port = 0
        self.ws_port = 0
        self._durable_seq = self.bank.op_seq
        # (op sequence, callback(error or None)) to run once that sequence is durable
        self._waiters: list[tuple[int, Callable[[Optional[BaseException]], None]]] = []
        self._wake: Optional[asyncio.Event] = None
        self._writer_pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="ledger-writer")
        self._tasks: list[asyncio.Task] = []
        self._servers: list = []
        self._stopping = False
        self.connections: set["HttpProtocol"] = set()

    # ----- lifecycle -----------------------------------------------------------------------------------------

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        cfg = self.config
        server = await loop.create_server(lambda: HttpProtocol(self), cfg.host, cfg.port, reuse_address=True)
        self._servers.append(server)
        self.rpc_port = server.sockets[0].getsockname()[1]
        ws_port = cfg.ws_port if cfg.ws_port is not None else (cfg.port + 1 if cfg.port else 0)
        ws = await ws_serve(self.pubsub.serve, cfg.host, ws_port, max_size=MAX_BODY, compression=None)
        self._servers.append(ws)
        self.ws_port = ws.sockets[0].getsockname()[1] if hasattr(ws, "sockets") else list(ws.sockets)[0].getsockname()[1]
        self.ctx.rpc_addr = f"{cfg.host}:{self.rpc_port}"
        self.ctx.ws_addr = f"{cfg.host}:{self.ws_port}"
        self._tasks.append(asyncio.create_task(self._writer()))
        if cfg.slot_ms is not None:
            self._tasks.append(asyncio.create_task(self._ticker(cfg.slot_ms / 1000)))

    async def stop(self) -> None:
        self._stopping = True
        for s in self._servers:
            s.close()
        for conn in list(self.connections):  # keep-alive clients must see the node go, not hang on it
            if conn.transport is not None:
                conn.transport.close()
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        # A batch may still be committing on the writer thread: let it finish first, so the final flush (newer
        # states) is never overwritten by it.
        self._writer_pool.shutdown(wait=True)
        self._flush_sync()
        if self.ledger is not None:
            self.ledger.close()

    @property
    def rpc_url(self) -> str:
        return f"http://{self.config.host}:{self.rpc_port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.config.host}:{self.ws_port}"

    # ----- clock ---------------------------------------------------------------------------------------------

    async def _ticker(self, period: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + period
        while True:
            await asyncio.sleep(max(0.0, deadline - loop.time()))
            deadline += period
            if deadline < loop.time():  # fell behind (suspended machine): do not replay a burst of slots
                deadline = loop.time() + period
            self.bank.close_slot()
            self.changed()

    # ----- durability ----------------------------------------------------------------------------------------

    def changed(self) -> None:
        if self._wake is not None:
            self._wake.set()

    async def wait_durable(self, seq: int) -> None:
        if self.ledger is None or seq <= self._durable_seq:
            return
        fut = asyncio.get_running_loop().create_future()

        def done(err: Optional[BaseException]) -> None:
            if not fut.done():
                fut.set_exception(err) if err is not None else fut.set_result(None)

        self.on_durable(seq, done)
        await fut

    def on_durable(self, seq: int, callback: Callable[[Optional[BaseException]], None]) -> None:
        """Runs callback(None) once op `seq` is committed (at once without a ledger), callback(error) if the
        commit failed. Callbacks, not tasks: one per sendTransaction, so they must be cheap."""
        if self.ledger is None or seq <= self._durable_seq:
            callback(None)
            return
        self._waiters.append((seq, callback))
        self.changed()

    async def _writer(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wake.wait()
            self._wake.clear()
            bank = self.bank
            if not bank.pending_ops:
                continue
            ops, bank.pending_ops = bank.pending_ops, []
            seq = bank.op_seq
            if self.ledger is None:
                self._durable_seq = seq
                continue
            try:
                await loop.run_in_executor(self._writer_pool, self.ledger.write, ops)
            except Exception as e:
                log.exception("ledger write failed")
                waiters, self._waiters = self._waiters, []
                for _s, cb in waiters:
                    cb(e)
                continue
            self._durable_seq = seq
            ready = [w for w in self._waiters if w[0] <= seq]
            self._waiters = [w for w in self._waiters if w[0] > seq]
            for _s, cb in ready:
                try:
                    cb(None)
                except Exception:
                    log.exception("durability callback failed")

    def _flush_sync(self) -> None:
        ops, self.bank.pending_ops = self.bank.pending_ops, []
        if self.ledger is not None and ops:
            self.ledger.write(ops)
        self._durable_seq = self.bank.op_seq

    # ----- requests ------------------------------------------------------------------------------------------

    def handle_rpc(self, body: bytes) -> tuple[bytes, int]:
        """Returns the response and the op sequence it must wait for (0 when nothing changed)."""
        before = self.bank.op_seq
        resp = self.dispatcher.handle(body)
        after = self.bank.op_seq
        if after == before:
            return resp, 0
        if self.ledger is None:
            self.bank.pending_ops.clear()
            self._durable_seq = after
            return resp, 0
        self.changed()
        return resp, after


class HttpProtocol(asyncio.Protocol):
    """HTTP/1.1 with keep-alive and pipelining (answered in order); POST JSON-RPC, OPTIONS for CORS, GET /health."""

    __slots__ = ("node", "buf", "transport", "busy", "closing", "continued")

    def __init__(self, node: Node) -> None:
        self.node = node
        self.buf = bytearray()
        self.transport: Optional[asyncio.Transport] = None
        self.busy = False
        self.closing = False
        self.continued = False

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.node.connections.add(self)

    def connection_lost(self, exc) -> None:
        self.closing = True
        self.node.connections.discard(self)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if not self.busy:
            self._process()

    def _process(self) -> None:
        while not self.busy and not self.closing:
            buf = self.buf
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                if len(buf) > MAX_HEAD:
                    self._reply(431, b"text/plain", b"request header too large", close=True)
                return
            head = bytes(buf[:end]).decode("latin-1")
            lines = head.split("\r\n")
            try:
                method, target, version = lines[0].split(" ", 2)
            except ValueError:
                self._reply(400, b"text/plain", b"bad request line", close=True)
                return
            length = 0
            expect_continue = False
            keep_alive = version == "HTTP/1.1"
            for line in lines[1:]:
                name, _, value = line.partition(":")
                name = name.strip().lower()
                if name == "content-length":
                    try:
                        length = int(value.strip())
                    except ValueError:
                        self._reply(400, b"text/plain", b"bad content-length", close=True)
                        return
                elif name == "connection":
                    v = value.strip().lower()
                    keep_alive = v == "keep-alive" or (keep_alive and v != "close")
                elif name == "expect" and value.strip().lower() == "100-continue":
                    expect_continue = True
                elif name == "transfer-encoding" and value.strip().lower() != "identity":
                    self._reply(411, b"text/plain", b"chunked bodies are not supported; send Content-Length", close=True)
                    return
            if length > MAX_BODY or length < 0:
                self._reply(413, b"text/plain", b"request body too large", close=True)
                return
            total = end + 4 + length
            if len(buf) < total:
                if expect_continue and not self.continued and self.transport is not None:
                    self.continued = True  # curl waits a second for this before sending bodies over 1 KiB
                    self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                return
            self.continued = False
            body = bytes(buf[end + 4 : total])
            del buf[:total]
            if method == "POST":
                try:
                    resp, seq = self.node.handle_rpc(body)
                except Exception:  # the dispatcher already turns handler errors into -32603; this is a last guard
                    log.exception("request failed")
                    resp, seq = b'{"jsonrpc":"2.0","error":{"code":-32603,"message":"Internal error"},"id":null}', 0
                if seq:
                    self.busy = True
                    self.node.on_durable(seq, lambda err, r=resp, k=keep_alive: self._deliver(err, r, k))
                    return
                self._reply(200, b"application/json", resp, close=not keep_alive)
            elif method == "OPTIONS":
                self._reply(200, b"text/plain", b"", close=not keep_alive)
            elif method == "GET" and target.split("?")[0] == "/health":
                self._reply(200, b"text/plain", b"ok", close=not keep_alive)
            else:
                self._reply(405, b"text/plain", b"use POST for JSON-RPC", close=not keep_alive)

    def _deliver(self, err: Optional[BaseException], resp: bytes, keep_alive: bool) -> None:
        """Sends a response held back until its changes were durable, then resumes pipelined requests."""
        if err is not None:
            resp = (b'{"jsonrpc":"2.0","error":{"code":-32603,"message":"ledger write failed: '
                    + str(err).replace('"', "'").encode() + b'"},"id":null}')
        self.busy = False
        if self.closing:
            return
        self._reply(200, b"application/json", resp, close=not keep_alive)
        if self.buf and not self.closing:
            self._process()

    def _reply(self, status: int, ctype: bytes, body: bytes, *, close: bool) -> None:
        if self.transport is None or self.transport.is_closing():
            self.closing = True
            return
        reason = {200: b"OK", 400: b"Bad Request", 405: b"Method Not Allowed", 411: b"Length Required",
                  413: b"Payload Too Large", 431: b"Request Header Fields Too Large"}.get(status, b"Error")
        self.transport.write(
            b"HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n%s%s\r\n"
            % (status, reason, ctype, len(body), _CORS, b"Connection: close\r\n" if close else b"")
            + body
        )
        if close:
            self.closing = True
            self.transport.close()
