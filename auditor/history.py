"""Config versions through time, replayed from the program's events and checked against the Config account.

Version 1 is born by `initialize` (one meter key); each `update_config` makes the next version and may add
one meter key and remove one. A receipt is judged by the meter keys of the version it names, so a key
rotated out later still verifies its own receipts and nothing newer.
"""
from __future__ import annotations

from typing import Sequence

from solders.pubkey import Pubkey

from .result import Check, skipped, verdict
from .views import ConfigAccountView, ConfigChange, ConfigHistory, ConfigVersion


def replay(changes: Sequence[ConfigChange]) -> ConfigHistory:
    """Apply config changes in version order (the first must be version 1, from initialize)."""
    versions: dict[int, ConfigVersion] = {}
    keys: set[Pubkey] = set()
    for ch in sorted(changes, key=lambda c: c.version):
        if ch.added_meter is not None:
            keys.add(ch.added_meter)
        if ch.removed_meter is not None:
            keys.discard(ch.removed_meter)
        versions[ch.version] = ConfigVersion(ch.version, ch.fee_bps, ch.burn_bps, frozenset(keys),
                                             ch.signature or "event")
    born = {ch.version: ch.slot for ch in changes if ch.slot is not None}
    where = {ch.version: (ch.signature, ch.event_index) for ch in changes if ch.signature}
    return ConfigHistory(versions, max(versions) if versions else 0,
                         born if len(born) == len(versions) else {}, where)


def from_account(acc: ConfigAccountView) -> ConfigHistory:
    """What the account alone tells, when the event history is not available: each current key is good
    from its since_version on; keys removed earlier and older fee rates are unknown (current ones used)."""
    versions = {}
    for v in range(1, acc.version + 1):
        keys = frozenset(k for k, since in acc.meters if since <= v)
        versions[v] = ConfigVersion(v, acc.fee_bps, acc.burn_bps, keys, "account (history unavailable)")
    return ConfigHistory(versions, acc.version)


def config_history(changes: Sequence[ConfigChange],
                   account: ConfigAccountView | None) -> tuple[ConfigHistory, list[Check]]:
    """The history to judge receipts by, and checks that the events and the account agree."""
    out: list[Check] = []
    if account is None:
        return ConfigHistory({}, 0), [verdict("config.account", False, "", "the program has no Config account: "
                                              "not initialized, or the wrong program id")]
    versions = sorted(c.version for c in changes)
    complete = bool(versions) and versions == list(range(1, account.version + 1))
    if not complete:
        missing = sorted(set(range(1, account.version + 1)) - set(versions))
        out.append(skipped("config.history", f"the events of config version(s) {missing[:5]} were not found in "
                                             "the signature history: using the account alone (current fees; "
                                             "meter keys removed earlier unknown)"))
        return from_account(account), out
    hist = replay(changes)
    last = hist.versions[account.version]
    acc_keys = frozenset(k for k, _ in account.meters)
    # a key's since_version is the version that (last) added it
    since_ok = all(since == max((c.version for c in changes if c.added_meter == k), default=-1)
                   for k, since in account.meters)
    ok = (last.fee_bps, last.burn_bps, last.meter_keys) == (account.fee_bps, account.burn_bps, acc_keys) and since_ok
    out.append(verdict("config.history", ok,
                       f"replaying {len(changes)} config events gives the Config account: version "
                       f"{account.version}, fee {account.fee_bps} bps, burn {account.burn_bps} bps, "
                       f"{len(acc_keys)} meter key(s)",
                       f"replaying {len(changes)} config events gives fee {last.fee_bps} / burn {last.burn_bps} / "
                       f"keys {sorted(map(str, last.meter_keys))}, the account has fee {account.fee_bps} / burn "
                       f"{account.burn_bps} / keys {sorted(map(str, acc_keys))}"))
    return hist, out

