"""Send one transaction and wait for it, with errors as one clear line (named, in words, never hex)."""
from __future__ import annotations

import time
from typing import Sequence

from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.message import Message
from solders.transaction import Transaction

from solders.transaction_status import TransactionErrorFieldless

from chain.tx_errors import describe
from ledger.engine.backoff import backoff_ms
from ledger.engine.chain import Chain, ChainUnavailable, TxRejected

from .budget import NO_BUDGET, ComputeBudget, estimated_limit

ATTEMPTS = 6  # tries of one RPC call while the endpoint is unavailable (back-off 0.25 s doubling to 4 s)


class OpError(Exception):
    """A role operation failed; str() is the one line to show."""


def rejection(e: TxRejected, ixs: Sequence[Instruction] = ()) -> str:
    """Why the cluster refused a transaction, in words (instruction, program, error name and meaning)."""
    if e.err is None:
        return str(e.program_error) if e.program_error else str(e).splitlines()[0]
    return describe(e.err, e.logs, [ix.program_id for ix in ixs])


def already_landed(e: TxRejected) -> bool:
    """A resend of bytes that landed already (same signature): nothing to do but confirm."""
    return e.err == TransactionErrorFieldless.AlreadyProcessed or "already been processed" in str(e).lower()


def retrying(what: str, fn, *, attempts: int = ATTEMPTS, sleep=time.sleep):
    """fn() retried with exponential back-off while the RPC is unavailable (HTTP 429/5xx, unreachable, node
    behind); then one line saying what could not be done."""
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except ChainUnavailable as e:
            if attempt == attempts:
                raise OpError(f"{what}: {e} (after {attempt} attempts)") from None
            sleep(backoff_ms(attempt, base_ms=250, cap_ms=4_000) / 1000)


def unique_signers(payer: Keypair, signers: Sequence[Keypair]) -> list[Keypair]:
    seen = {payer.pubkey()}
    out = [payer]
    for k in signers:
        if k.pubkey() not in seen:
            seen.add(k.pubkey())
            out.append(k)
    return out


def sign(payer: Keypair, ixs: Sequence[Instruction], signers: Sequence[Keypair], blockhash) -> Transaction:
    return Transaction(unique_signers(payer, signers), Message.new_with_blockhash(list(ixs), payer.pubkey(), blockhash),
                       blockhash)


def budgeted(chain, payer: Keypair, ixs: Sequence[Instruction], signers: Sequence[Keypair], budget: ComputeBudget,
             *, what: str) -> list[Instruction]:
    """`ixs` preceded by the budget's instructions; when a price is set without a limit, the limit is fitted
    to what a simulation of the transaction consumes."""
    if not budget.active:
        return list(ixs)
    limit = None
    if budget.needs_estimate:
        blockhash, _ = chain.latest_blockhash()
        sim = chain.simulate(sign(payer, [*budget.instructions(), *ixs], signers, blockhash))
        if sim.err is not None:
            raise OpError(f"{what} would fail: {describe(sim.err, sim.logs, [ix.program_id for ix in ixs])}")
        limit = estimated_limit(sim.units)
    return [*budget.instructions(limit), *ixs]


def send(chain: Chain, payer: Keypair, ixs: Sequence[Instruction], signers: Sequence[Keypair] = (),
         *, what: str = "transaction", budget: ComputeBudget = NO_BUDGET, timeout_s: float = 30.0,
         sleep=time.sleep) -> str:
    """Sign with payer (+ signers), send, wait until confirmed; returns the signature. While the RPC is
    unavailable the SAME signed bytes are sent again (one signature: it cannot land twice)."""
    try:
        ixs = retrying(what, lambda: budgeted(chain, payer, ixs, signers, budget, what=what), sleep=sleep)
        blockhash, _ = retrying(what, chain.latest_blockhash, sleep=sleep)
    except TxRejected as e:
        raise OpError(f"{what} rejected: {rejection(e, ixs)}") from None
    return send_signed(chain, sign(payer, ixs, signers, blockhash), ixs, what=what, timeout_s=timeout_s, sleep=sleep)


def send_signed(chain: Chain, tx: Transaction, ixs: Sequence[Instruction], *, what: str = "transaction",
                timeout_s: float = 30.0, sleep=time.sleep) -> str:
    """Send a transaction signed already (by this process or by a wallet) and wait until it is confirmed;
    `ixs` are its instructions, to name a failure. Returns the signature."""
    sig = str(tx.signatures[0])
    try:
        retrying(what, lambda: _send_raw(chain, bytes(tx)), sleep=sleep)
    except TxRejected as e:
        raise OpError(f"{what} rejected: {rejection(e, ixs)}") from None
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            st = chain.signature_statuses([sig])[0]
        except ChainUnavailable:
            st = None
        if st is not None:
            if st.err is not None:
                info = chain.transaction(sig)
                raise OpError(f"{what} failed: {describe(st.err, info.logs if info else (), [i.program_id for i in ixs])}")
            return sig
        time.sleep(0.05)
    raise OpError(f"{what}: not confirmed within {timeout_s:.0f} s (signature {sig})")


def _send_raw(chain: Chain, tx: bytes) -> None:
    try:
        chain.send_raw(tx)
    except TxRejected as e:
        if not already_landed(e):
            raise
