"""Write an ELF into an upgradeable-loader buffer over JSON-RPC: many Write transactions in parallel, each
retried until it lands, none paid for twice on purpose.

In rounds, as `solana program deploy` does:
1. take a fresh blockhash and sign one Write per missing chunk with it;
2. send them, at most `concurrency` at a time; a send that fails for a passing reason (the RPC unreachable,
   HTTP 429/5xx, a node that does not know the blockhash yet) is retried with exponential back-off; a
   refusal that will not pass (wrong authority, no SOL for the fee, ...) stops everything, named in words;
3. poll the signatures' statuses (256 per call) until each is confirmed or the blockhash has expired (block
   height past its last valid height, read BEFORE the statuses, so an unconfirmed one can no longer land);
4. what did not land goes into the next round, signed with a new blockhash.
A Write is idempotent (same bytes at the same offset), so a chunk that lands twice costs a second fee and no
harm; one that never lands is found missing by the next run, which resumes from the buffer."""
from __future__ import annotations

import threading
import time
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Callable, Protocol, Sequence

from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.transaction_status import TransactionErrorFieldless

from chain.tx_errors import describe
from contracts import loader_v3
from ledger.engine.backoff import backoff_ms
from ledger.engine.chain import ChainUnavailable, RpcChain, TxRejected

from .tx import OpError, already_landed, rejection, retrying, sign

CONFIRMED = ("confirmed", "finalized")


class Progress(Protocol):
    """How an operation reports counted work (the CLI draws a bar, or prints plain lines without a TTY)."""

    def start(self, total: int, done: int, label: str) -> None: ...
    def advance(self, n: int = 1) -> None: ...
    def finish(self) -> None: ...


class NoProgress:
    def start(self, total: int, done: int, label: str) -> None:
        pass

    def advance(self, n: int = 1) -> None:
        pass

    def finish(self) -> None:
        pass


@dataclass
class WriteStats:
    chunks: int = 0  # chunks this upload had to write
    sent: int = 0  # Write transactions accepted by the RPC, resends included
    retried: int = 0  # sends retried after a passing failure
    expired: int = 0  # sent but not landed before their blockhash expired (re-signed next round)
    rounds: int = 0


@dataclass(frozen=True)
class WritePlan:
    buffer: Pubkey
    elf: bytes
    offsets: Sequence[int]  # where the missing chunks start
    chunk: int
    budget_ixs: Sequence[Instruction] = ()  # compute-budget instructions put first in every Write


def _passing(e: TxRejected) -> bool:
    """A refusal that a later send may not meet: the node does not know the (new) blockhash yet."""
    return e.err == TransactionErrorFieldless.BlockhashNotFound or "blockhash not found" in str(e).lower()


class BufferWriter:
    def __init__(self, chain: RpcChain, authority: Keypair, *, concurrency: int = 8, max_rounds: int = 8,
                 max_send_attempts: int = 6, poll_s: float = 0.2, progress: Progress | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if not 1 <= concurrency <= 64:
            raise ValueError(f"write concurrency must be 1..64, got {concurrency}")
        self.chain = chain
        self.authority = authority
        self.concurrency = concurrency
        self.max_rounds = max_rounds
        self.max_send_attempts = max_send_attempts
        self.poll_s = poll_s
        self.progress = progress or NoProgress()
        self.sleep = sleep
        self._lock = threading.Lock()

    def _ixs(self, plan: WritePlan, off: int) -> list[Instruction]:
        return [*plan.budget_ixs, loader_v3.write(plan.buffer, self.authority.pubkey(), off,
                                                  plan.elf[off:off + plan.chunk])]

    def _retrying(self, what: str, fn):
        return retrying(f"{what} (run the command again to resume)", fn, attempts=self.max_send_attempts,
                        sleep=self.sleep)

    def _send(self, plan: WritePlan, off: int, tx, stats: WriteStats) -> bool:
        """Send one signed Write; True when the RPC took it (or it had landed already), False when it is left
        for the next round. Raises OpError on a refusal that will not pass."""
        for attempt in range(1, self.max_send_attempts + 1):
            try:
                self.chain.send_raw(bytes(tx))
                return True
            except TxRejected as e:
                if already_landed(e):
                    return True
                if not _passing(e):
                    raise OpError(f"buffer write at offset {off} rejected: {rejection(e, self._ixs(plan, off))}") from None
            except ChainUnavailable:
                pass
            with self._lock:
                stats.retried += 1
            if attempt < self.max_send_attempts:
                self.sleep(backoff_ms(attempt, base_ms=250, cap_ms=4_000) / 1000)
        return False

    def write(self, plan: WritePlan) -> WriteStats:
        """Write every chunk of the plan; raises OpError when a chunk is refused or rounds run out."""
        stats = WriteStats(chunks=len(plan.offsets))
        pending = set(plan.offsets)
        total = len(loader_v3.chunk_offsets(len(plan.elf), plan.chunk))
        self.progress.start(total, total - len(pending), f"buffer {plan.buffer}")
        try:
            while pending:
                if stats.rounds == self.max_rounds:
                    raise OpError(f"{len(pending)} of {total} buffer chunks did not land in {self.max_rounds} rounds; "
                                  f"run the same command again: it resumes from buffer {plan.buffer}")
                stats.rounds += 1
                self._round(plan, pending, stats)
        finally:
            self.progress.finish()
        return stats

    def _round(self, plan: WritePlan, pending: set[int], stats: WriteStats) -> None:
        blockhash, last_valid = self._retrying("latest blockhash", self.chain.latest_blockhash)
        signed = {off: sign(self.authority, self._ixs(plan, off), (), blockhash) for off in sorted(pending)}
        in_flight: dict[str, int] = {}
        pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="buffer-write")
        try:
            futures = {pool.submit(self._send, plan, off, tx, stats): (off, tx) for off, tx in signed.items()}
            done, _ = wait(futures, return_when=FIRST_EXCEPTION)
            for fut in done:
                fut.result()  # the first refusal that will not pass, if any
            for fut, (off, tx) in futures.items():
                if fut.result():
                    in_flight[str(tx.signatures[0])] = off
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        stats.sent += len(in_flight)
        self._confirm(in_flight, pending, last_valid, stats)

    def _confirm(self, in_flight: dict[str, int], pending: set[int], last_valid: int, stats: WriteStats) -> None:
        while in_flight:
            height = self._retrying("block height", self.chain.block_height)
            sigs = list(in_flight)
            statuses = self._retrying("signature statuses", lambda sigs=sigs: self.chain.signature_statuses(sigs))
            for sig, st in zip(sigs, statuses):
                if st is None or (st.err is None and st.confirmation not in CONFIRMED):
                    continue
                off = in_flight.pop(sig)
                if st.err is not None:
                    info = self.chain.transaction(sig)
                    raise OpError(f"buffer write at offset {off} failed: "
                                  f"{describe(st.err, info.logs if info else (), [loader_v3.LOADER_V3])}")
                pending.discard(off)
                self.progress.advance()
            if in_flight and height > last_valid:  # these can no longer land: re-signed next round
                stats.expired += len(in_flight)
                return
            if in_flight:
                self.sleep(self.poll_s)
