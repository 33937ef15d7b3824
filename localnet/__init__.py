"""localnet: an embedded Solana validator over solders' LiteSVM (see docs/arch-localnet.md).

Tests and the demo start it in-process with `start_in_process`; `solmeter localnet start` runs it in the
foreground with `run_forever`.
"""
from __future__ import annotations

import asyncio
import dataclasses
import gc
import signal
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Union

import uvloop

from .genesis import GenesisConfig, default_config
from .server import Node, NodeConfig

__all__ = ["Handle", "NodeConfig", "GenesisConfig", "default_config", "start_in_process", "run_forever"]


@dataclass
class Handle:
    """A node running on a background thread. `stop()` flushes the ledger and joins the thread."""

    rpc_url: str
    ws_url: str
    node: Node
    _loop: asyncio.AbstractEventLoop
    _thread: threading.Thread

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        fut = asyncio.run_coroutine_threadsafe(self.node.stop(), self._loop)
        fut.result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)

    def call(self, fn: Callable):
        """Runs fn(bank) on the node's thread (the bank is single-threaded) and returns its result."""

        async def run():
            try:
                return fn(self.node.bank)
            finally:
                self.node.changed()  # whatever fn changed goes to the ledger like any other change

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout=30)

    def __enter__(self) -> "Handle":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start_in_process(
    ledger_dir: Optional[Union[str, Path]] = None,
    port: int = 0,
    slot_ms: Union[int, None, str] = "per-tx",
    cheats: bool = True,
    genesis: Optional[GenesisConfig] = None,
    host: str = "127.0.0.1",
    ws_port: Optional[int] = None,
    features: Optional[str] = None,
    finality_depth: Optional[int] = None,
    block_subscription: bool = False,
    vote_subscription: bool = False,
) -> Handle:
    """Starts a node on a background thread and returns once it accepts connections.

    port=0 picks free ports (RPC and PubSub). slot_ms='per-tx' (or None) closes a slot per transaction, which
    makes tests deterministic; an int advances slots in real time. genesis defaults to default_config().
    features (devnet, mainnet, all) overrides the genesis' feature set (default: devnet). finality_depth: how many
    blocks finalized trails confirmed (default 0 per-tx, 32 in real time, as solana-test-validator's root).
    block_subscription / vote_subscription enable blockSubscribe / voteSubscribe (test-validator's flags).
    """
    if genesis is None:
        genesis = default_config()
    if features is not None:
        genesis = dataclasses.replace(genesis, features=features)
    config = NodeConfig(
        host=host,
        port=port,
        ws_port=ws_port,
        ledger_dir=Path(ledger_dir) if ledger_dir is not None else None,
        slot_ms=None if slot_ms in (None, "per-tx") else int(slot_ms),
        cheats=cheats,
        genesis=genesis,
        finality_depth=finality_depth,
        block_subscription=block_subscription,
        vote_subscription=vote_subscription,
    )
    loop = uvloop.new_event_loop()  # the loop `run_forever` runs too, so tests exercise what users run
    ready = threading.Event()
    box: dict = {}

    def run() -> None:
        asyncio.set_event_loop(loop)
        node = None
        try:
            node = Node(config)
            loop.run_until_complete(node.start())
            box["node"] = node
        except BaseException as e:  # reported to the caller below
            box["error"] = e
            if node is not None:  # e.g. the port is taken: give the ledger (and its lock) back
                loop.run_until_complete(node.stop())
            loop.close()
            ready.set()
            return
        ready.set()
        loop.run_forever()
        loop.close()

    thread = threading.Thread(target=run, name="localnet", daemon=True)
    thread.start()
    ready.wait()
    if "error" in box:
        thread.join()
        raise box["error"]
    node = box["node"]
    return Handle(node.rpc_url, node.ws_url, node, loop, thread)


def run_forever(config: NodeConfig, on_ready: Optional[Callable[[Node], None]] = None) -> None:
    """Runs a node in the foreground until SIGINT/SIGTERM, then flushes the ledger and returns."""

    async def main() -> None:
        node = Node(config)
        try:
            await node.start()
        except BaseException:
            await node.stop()
            raise
        # The node keeps its whole history in memory and allocates a few dozen objects per request: freeze
        # what restore loaded and collect the young generation less often, so the collector does not keep
        # rescanning a growing heap (a process-wide setting, hence only here and not in start_in_process).
        gc.freeze()
        gc.set_threshold(50_000, 20, 100)
        if on_ready is not None:
            on_ready(node)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await node.stop()

    # uvloop (libuv): the per-request cost of the event loop and its transports is a fraction of asyncio's.
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main())
