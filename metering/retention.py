"""Retention of usage_events' day partitions on PostgreSQL (metering.partitions).

The rule: the oldest day partition is dropped only when
  1. its end is older than the lateness bound and not after the sealed frontier (no event can be accepted
     into it again, and the sealer has passed it);
  2. none of its events is unsealed;
  3. every receipt issued by a seal up to the newest seal of its events is settled: the channel's newest
     confirmed `settle` intent (ledger_intents) has a seq at least the receipt's.
One unsealed or unsettled event keeps the partition (and every younger one: the horizon only moves
forward, oldest first). Before it goes, each key with events in it gets its usage and carry at the
partition's end in meter_key_base (`rollup.usage.usage_from`), from which the sealer recomputes a key with
late events; the partition's meter_event_keys rows go in the same transaction."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from .config import MeterConfig
from .models import KeyBase
from .partitions import DAY_MS, is_partitioned, partition_days, partition_name
from .receipts import FAMILY_KINDS, key_base, lock_state
from .rollup.usage import FAMILY, Point, usage_from

KB = KeyBase.__table__


def settled_seqs(conn: Connection) -> dict[tuple[str, str], int]:
    """(customer, provider) -> the highest seq settled on-chain, from the engine's confirmed settle intents
    (keys `settle:<customer>:<provider>:<seq>`); empty where the ledger's tables are not in this database."""
    if conn.exec_driver_sql("SELECT to_regclass('ledger_intents')").scalar() is None:
        return {}
    out: dict[tuple[str, str], int] = {}
    for (key,) in conn.exec_driver_sql("SELECT key FROM ledger_intents WHERE kind = 'settle' AND state = 'confirmed'"):
        _, c, p, seq = key.split(":")
        out[(c, p)] = max(out.get((c, p), 0), int(seq))
    return out


@dataclass
class Verdict:
    day: int
    drop: bool
    reason: str


def judge(conn: Connection, day: int, now_ms: int, cfg: MeterConfig, sealed_through: int | None,
          settled: dict[tuple[str, str], int]) -> Verdict:
    """Whether the partition of `day` may be dropped under the rule, and why not."""
    name, end = partition_name(day), (day + 1) * DAY_MS
    if end > now_ms - cfg.limits.lateness_bound_ms:
        return Verdict(day, False, "within the lateness bound")
    if sealed_through is None or end > sealed_through:
        return Verdict(day, False, "not sealed through yet")
    if conn.exec_driver_sql(f'SELECT 1 FROM "{name}" WHERE seal_id IS NULL LIMIT 1').first():
        return Verdict(day, False, "has unsealed events")
    newest_seal = conn.exec_driver_sql(f'SELECT max(seal_id) FROM "{name}"').scalar()
    if newest_seal is not None:
        for c, p, seq in conn.exec_driver_sql(
                "SELECT customer, provider, max(seq) FROM meter_receipts WHERE seal_id <= %s GROUP BY 1, 2",
                (newest_seal,)):
            if settled.get((c, p), 0) < seq:
                return Verdict(day, False, f"receipt {seq} of {c}/{p} is not settled")
    return Verdict(day, True, "sealed and settled")


def _write_bases(conn: Connection, day: int, cfg: MeterConfig) -> int:
    """meter_key_base at the partition's end for every key with events in it."""
    name, end = partition_name(day), (day + 1) * DAY_MS
    kw = dict(heartbeat_timeout_ms=cfg.heartbeat_timeout_ms, sample_timeout_ms=cfg.sample_timeout_ms)
    keys = {(c, p, FAMILY[k], r) for c, p, k, r in conn.exec_driver_sql(
        f'SELECT DISTINCT customer, provider, kind, resource FROM "{name}"')}
    for key in sorted(keys):
        c, p, fam, res = key
        base = key_base(conn, key)
        pts = [Point(*r) for r in conn.exec_driver_sql(
            "SELECT t_ms, kind, value, rclass, event_id FROM usage_events WHERE customer = %s AND provider = %s "
            "AND kind = ANY(%s) AND resource = %s AND t_ms >= %s AND t_ms < %s",
            (c, p, list(FAMILY_KINDS[fam]), res, base[0] if base else -(1 << 62), end))]
        u, carry = usage_from(fam, base, pts, end, **kw)
        conn.execute(KB.delete().where(KB.c.customer == c, KB.c.provider == p, KB.c.family == fam,
                                       KB.c.resource == res))
        conn.execute(KB.insert().values(customer=c, provider=p, family=fam, resource=res, through_ms=end,
                                        quantities=json.dumps(u.quantities, sort_keys=True),
                                        last=json.dumps(list(carry.last)) if carry.last else None,
                                        stopped=carry.stopped))
    return len(keys)


def drop_settled_partitions(engine: Engine, now_ms: int, cfg: MeterConfig,
                            settled: Callable[[Connection], dict[tuple[str, str], int]] = settled_seqs) -> list[Verdict]:
    """The job: drop the oldest partitions the rule allows, one transaction each (under the meter state
    lock, so no seal runs meanwhile); stop at the first that must stay. Returns the verdicts reached."""
    if engine.dialect.name != "postgresql":
        return []
    out: list[Verdict] = []
    while True:
        with engine.begin() as conn:
            if not is_partitioned(conn):
                return out
            sealed_through, _ = lock_state(conn)
            days = sorted(partition_days(conn))
            if not days:
                return out
            v = judge(conn, days[0], now_ms, cfg, sealed_through, settled(conn))
            out.append(v)
            if not v.drop:
                return out
            _write_bases(conn, days[0], cfg)
            conn.exec_driver_sql("DELETE FROM meter_event_keys WHERE t_ms >= %s AND t_ms < %s",
                                 (days[0] * DAY_MS, (days[0] + 1) * DAY_MS))
            conn.execute(text(f'DROP TABLE "{partition_name(days[0])}"'))
