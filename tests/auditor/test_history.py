"""Config versions through time: replay of the config events, agreement with the Config account, the
version in force at a slot, and meter-key rotation."""
from __future__ import annotations

from dataclasses import replace

from solders.keypair import Keypair

from auditor import checks as C
from auditor.history import config_history, from_account, replay
from auditor.sample import build_world
from auditor.views import BlockOrder, ConfigAccountView, ConfigChange

A, B = Keypair().pubkey(), Keypair().pubkey()
CHANGES = [ConfigChange(1, 250, 100, A, None, "init", 10),
           ConfigChange(2, 400, 100, B, None, "add B", 20),
           ConfigChange(3, 400, 100, None, A, "retire A", 30)]
ACCOUNT = ConfigAccountView(version=3, fee_bps=400, burn_bps=100, meters=((B, 2),))


def test_replay_gives_each_versions_keys_and_rates():
    h = replay(CHANGES)
    assert h.current == 3
    assert h.get(1).meter_keys == {A} and h.get(2).meter_keys == {A, B} and h.get(3).meter_keys == {B}
    assert (h.get(1).fee_bps, h.get(2).fee_bps) == (250, 400)


def test_account_agreeing_with_the_events():
    h, checks = config_history(CHANGES, ACCOUNT)
    assert [c.status for c in checks] == ["pass"] and h.get(3).meter_keys == {B}


def test_account_edited_behind_the_program_is_caught():
    for acc in (replace(ACCOUNT, fee_bps=399), replace(ACCOUNT, meters=((B, 2), (A, 1))),
                replace(ACCOUNT, meters=((B, 3),))):
        _, checks = config_history(CHANGES, acc)
        assert [c.name for c in checks if c.failed] == ["config.history"], acc


def test_missing_history_falls_back_to_the_account_and_says_so():
    h, checks = config_history(CHANGES[1:], ACCOUNT)
    assert [c.status for c in checks] == ["skip"] and "[1]" in checks[0].detail
    assert h == from_account(ACCOUNT)
    assert h.get(1).meter_keys == frozenset() and h.get(2).meter_keys == {B}


def test_no_config_account_fails():
    _, checks = config_history([], None)
    assert [c.name for c in checks if c.failed] == ["config.account"]


def test_version_in_force_at_a_slot():
    h = replay(CHANGES)
    assert h.in_force_at(5) == ()
    assert h.in_force_at(15) == (1,)
    assert h.in_force_at(20) == (1, 2)  # an update in the same slot, the block's order unknown: both candidates
    assert h.in_force_at(25) == (2,) and h.in_force_at(99) == (3,)
    assert replay([replace(c, slot=None) for c in CHANGES]).in_force_at(25) == ()


def test_a_same_slot_update_is_placed_by_the_block_order_and_the_instruction_order():
    """The fee version of a settle in the slot of an update_config is decided by where each sits in the
    block (transaction order), then in the transaction (event order): not by accepting either."""
    h = replay(CHANGES)  # v2 is born in slot 20 by transaction "add B", its event index 0
    assert h.in_force_at(20, BlockOrder(("settle", "add B"), "settle", 0)) == (1,)
    assert h.in_force_at(20, BlockOrder(("add B", "settle"), "settle", 0)) == (2,)
    # one transaction holding both: the settle's event after the update's is under v2, before it under v1
    h1 = replay([CHANGES[0], replace(CHANGES[1], signature="both", event_index=1), CHANGES[2]])
    assert h1.in_force_at(20, BlockOrder(("both",), "both", 2)) == (2,)
    assert h1.in_force_at(20, BlockOrder(("both",), "both", 0)) == (1,)
    # a block that does not list the update's transaction places nothing: the candidates again
    assert h.in_force_at(20, BlockOrder(("settle",), "settle", 0)) == (1, 2)


def test_split_is_judged_by_the_config_in_force():
    w = build_world()
    h = replay(CHANGES)
    s = w.settlements[0]
    fee2, burn2, prov2 = C.expected_split(s.moved, 400, 100)
    under_v2 = replace(s, fee=fee2, burn=burn2, provider_amount=prov2)
    assert not [c for c in C.check_settlement(replace(under_v2, config_version=2), 0, h) if c.failed]
    # undetermined between two versions (block order unavailable): not verified, never accepted as either
    either = C.check_settlement(replace(under_v2, config_version=(1, 2)), 0, h)
    assert [c.status for c in either if c.name == "settlement.split"] == ["pending"]
    bad = C.check_settlement(replace(under_v2, config_version=1), 0, h)
    assert [c.name for c in bad if c.failed] == ["settlement.split"]
