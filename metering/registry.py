"""Provider registry and customer flags (paused). Small transactional helpers over the meter tables."""
from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.engine import Connection, Engine

from .events.envelope import _pubkey
from .models import Customer, Provider

P, C = Provider.__table__, Customer.__table__


def _check(pubkey: str) -> str:
    try:
        return _pubkey(pubkey)
    except ValueError:
        raise ValueError(f"{pubkey!r} is not a base58 Solana public key") from None


def add_provider(engine: Engine, pubkey: str, now_ms: int, name: str = "") -> None:
    _check(pubkey)
    with engine.begin() as conn:
        if conn.execute(select(P.c.pubkey).where(P.c.pubkey == pubkey)).first():
            conn.execute(update(P).where(P.c.pubkey == pubkey).values(active=True, name=name or P.c.name))
        else:
            conn.execute(P.insert().values(pubkey=pubkey, name=name, active=True, created_ms=now_ms))


def deactivate_provider(engine: Engine, pubkey: str) -> bool:
    with engine.begin() as conn:
        return conn.execute(update(P).where(P.c.pubkey == pubkey).values(active=False)).rowcount > 0


def provider_flag(conn: Connection, pubkey: str) -> bool | None:
    """True: added to this meter's registry; False: removed from it; None: never in it."""
    r = conn.execute(select(P.c.active).where(P.c.pubkey == pubkey)).first()
    return None if r is None else bool(r[0])


def is_registered_provider(conn: Connection, pubkey: str) -> bool:
    """Registered now or before (a removed provider no longer reports, but its past is still its own)."""
    return conn.execute(select(P.c.pubkey).where(P.c.pubkey == pubkey)).first() is not None


def list_providers(engine: Engine) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(P).order_by(P.c.pubkey))]


def set_paused(engine: Engine, customer: str, paused: bool, now_ms: int, reason: str = "") -> None:
    """Set or clear a customer's paused flag (the ledger calls this when the escrow runs out / is refilled)."""
    with engine.begin() as conn:
        set_paused_in(conn, customer, paused, now_ms, reason)


def set_paused_in(conn: Connection, customer: str, paused: bool, now_ms: int, reason: str = "") -> None:
    """set_paused in the caller's transaction (metering.settlement's port)."""
    _check(customer)
    vals = dict(paused=paused, paused_reason=reason if paused else "", updated_ms=now_ms)
    if conn.execute(update(C).where(C.c.pubkey == customer).values(**vals)).rowcount == 0:
        conn.execute(C.insert().values(pubkey=customer, **vals))


def paused_customers(conn: Connection, customers: set[str]) -> dict[str, str]:
    """The paused ones among `customers`, with their reasons."""
    if not customers:
        return {}
    rows = conn.execute(select(C.c.pubkey, C.c.paused_reason).where(C.c.paused.is_(True), C.c.pubkey.in_(customers)))
    return {r[0]: r[1] for r in rows}


def customer_flags(conn: Connection, customer: str) -> tuple[bool, str]:
    r = conn.execute(select(C.c.paused, C.c.paused_reason).where(C.c.pubkey == customer)).first()
    return (bool(r[0]), r[1]) if r else (False, "")
