"""Send one transaction and wait for it, with errors as one clear line."""
from __future__ import annotations

import time
from typing import Sequence

from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.message import Message
from solders.transaction import Transaction

from ledger.engine.chain import Chain, ChainUnavailable, TxRejected


class OpError(Exception):
    """A role operation failed; str() is the one line to show."""


def _program_error(logs: Sequence[str], err: object = None) -> str | None:
    from contracts.client import error_from_logs, error_from_tx_error

    pe = error_from_logs(logs) or (error_from_tx_error(err) if err is not None else None)
    return str(pe) if pe else None


def send(chain: Chain, payer: Keypair, ixs: Sequence[Instruction], signers: Sequence[Keypair] = (),
         *, what: str = "transaction", timeout_s: float = 30.0) -> str:
    """Sign with payer (+ signers), send, wait until confirmed; returns the signature."""
    seen = {payer.pubkey()}
    extra = []
    for k in signers:
        if k.pubkey() not in seen:
            seen.add(k.pubkey())
            extra.append(k)
    try:
        blockhash, _ = chain.latest_blockhash()
        tx = Transaction([payer, *extra], Message.new_with_blockhash(list(ixs), payer.pubkey(), blockhash), blockhash)
        sig = str(tx.signatures[0])
        chain.send_raw(bytes(tx))
    except TxRejected as e:
        raise OpError(f"{what} rejected: {_program_error(e.logs) or str(e).splitlines()[0]}") from None
    except ChainUnavailable as e:
        raise OpError(f"{what}: {e}") from None
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        st = chain.signature_statuses([sig])[0]
        if st is not None:
            if st.err is not None:
                info = chain.transaction(sig)
                raise OpError(f"{what} failed: {_program_error(info.logs if info else (), st.err) or st.err}")
            return sig
        time.sleep(0.05)
    raise OpError(f"{what}: not confirmed within {timeout_s:.0f} s (signature {sig})")
