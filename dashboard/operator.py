"""The operator view's figures: the engine's job runs and failures, its intents (failed ones with their
error, retryable), the batch backlog (built, not yet posted), the meter key's SOL balance, the ledger's
differences with the chain (reconciled on each view), and the ingest rate (events received per minute
over the last hour of the meter's clock)."""
from __future__ import annotations

from solders.pubkey import Pubkey
from sqlalchemy import select

from ledger.engine.intents import IntentStore
from ledger.engine.lease import Leases
from ledger.engine.models import Intent
from ledger.engine.reconcile import reconcile
from metering.batches import list_batches
from metering.reads import events_received

from .shape import amount

LAMPORTS_PER_SOL = 1_000_000_000
INTENTS_SHOWN = 20
RATE_WINDOW_MS = 3_600_000


def operator_view(ctx, now_ms: int) -> dict:
    chain, dep = ctx.chain, ctx.deployment
    d = dep.decimals
    jobs = [{"name": l.name, "runs": l.runs, "failures": l.failures, "last_error": l.last_error,
             "last_run_ms": l.last_run_ms or None, "next_due_ms": l.next_due_ms or None, "holder": l.holder}
            for l in Leases(ctx.session_factory, "dashboard").status()]
    store = IntentStore(ctx.session_factory)
    with ctx.session_factory() as s:
        failed = list(s.execute(select(Intent).where(Intent.state == "failed").order_by(Intent.id.desc())
                                .limit(INTENTS_SHOWN)).scalars())
        recent = list(s.execute(select(Intent).order_by(Intent.id.desc()).limit(INTENTS_SHOWN)).scalars())
    intents = [{"id": i.id, "kind": i.kind, "subject": i.subject, "state": i.state, "error": i.error,
                "attempts": i.attempts, "signature": i.signature, "updated_ms": i.updated_ms,
                "link": ctx.explorer("tx", i.signature) if i.signature else None}
               for i in {i.id: i for i in failed + recent}.values()]
    intents.sort(key=lambda i: (i["state"] != "failed", -i["id"]))
    with ctx.engine.connect() as conn:
        backlog = list_batches(conn, limit=1000, unposted_only=True)
        received = events_received(conn, now_ms - RATE_WINDOW_MS, now_ms)
    meter_key = Pubkey.from_string(dep.meter) if dep.meter else None
    lamports = chain.lamports(meter_key) if meter_key is not None else 0
    recon = reconcile(ctx.session_factory, chain, dep.program)
    return {
        "decimals": d,
        "jobs": jobs,
        "intent_counts": store.counts(),
        "intents": intents,
        "batch_backlog": [{"id": b.id, "count": b.count, "total": amount(b.total, d)} for b in backlog],
        "meter_key": str(meter_key) if meter_key else None,
        "meter_sol": f"{lamports // LAMPORTS_PER_SOL}.{lamports % LAMPORTS_PER_SOL:09d}",
        "meter_lamports": str(lamports),
        "meter_link": ctx.explorer("address", meter_key) if meter_key else None,
        "reconcile": {"checked": recon.checked, "ok": recon.ok,
                      "differences": [{"account": x.account, "ledger": amount(x.ledger, d), "chain": amount(x.chain, d),
                                       "difference": amount(x.ledger - x.chain, d)} for x in recon.differences]},
        "ingest": {"events_last_hour": received, "per_minute": round(received / 60, 1)},
    }


def retry_intent(ctx, intent_id: int) -> dict:
    """A failed intent back to pending: the engine's next run rebuilds and sends it."""
    store = IntentStore(ctx.session_factory)
    with ctx.session_factory() as s:
        it = s.get(Intent, intent_id)
        if it is None:
            raise LookupError(f"no intent {intent_id}")
        if it.state != "failed":
            raise ValueError(f"intent {intent_id} is {it.state}: only a failed intent is retried")
    store.reopen(intent_id, "retry requested from the dashboard")
    return {"id": intent_id, "state": "pending"}
