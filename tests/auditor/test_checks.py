"""Pure-level auditor checks: an honest sample audits clean, every tampering is caught by the named check."""
from __future__ import annotations

import hashlib
from dataclasses import replace

import pytest
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.signature import Signature

from auditor import checks as C
from auditor.receipt_file import RECEIPT_FIELDS
from auditor.result import Report
from auditor.sample import build_world, next_receipt, retamper, sign
from auditor.verify import verify_batch, verify_channel, verify_epoch, verify_receipt
from auditor.views import ConfigHistory, ConfigVersion, ProviderEpochView


@pytest.fixture(scope="module")
def world():
    return build_world(n_receipts=10, per_batch=4, settle_every=3)


def names_failed(checks) -> set[str]:
    return {c.name for c in checks if c.failed}


def audit_one(world, sr, **kw):
    return verify_receipt(sr, world.history, world.batches.get(sr.batch) if sr.batch is not None else None,
                          program_id=world.program_id, **kw)


def committed(world):
    return C.committed_top(list(world.batches.values()), lambda b: world.batch_members[b.index], world.customer,
                           world.provider)


# --- honest data ---------------------------------------------------------------------------------------------

def test_honest_receipts_verify_clean(world):
    for i, sr in enumerate(world.receipts):
        prev = world.receipts[i - 1].receipt if i else None
        res = audit_one(world, sr, prev=prev, channel=world.channel, settlements=world.settlements)
        rep = Report("receipt", str(sr.receipt.seq)).add(res)
        assert rep.ok, rep.render()
        assert {"receipt.signature", "receipt.meter_key", "receipt.inclusion", "receipt.settled"} <= {
            c.name for c in res if c.status == "pass"}


def test_honest_channel_batch_epoch_clean(world):
    rep = Report("channel", "x").add(verify_channel(world.receipts, world.history, lambda sr: world.batches.get(sr.batch),
                                                    world.settlements, world.channel, program_id=world.program_id,
                                                    committed=committed(world)))
    assert rep.ok, rep.render()
    for idx, b in world.batches.items():
        rep = Report("batch", str(idx)).add(verify_batch(b, world.batch_members[idx], world.history,
                                                         world.batch_amounts(idx)))
        assert rep.ok, rep.render()
    rep = Report("epoch", "0").add(verify_epoch(world.epoch, {world.provider: world.epoch.providers[0].revenue,
                                                             world.epoch.providers[1].provider: 12_345}))
    assert rep.ok, rep.render()


def test_settled_names_the_covering_transaction(world):
    sr = world.receipts[0]  # seq 1 is covered by the settlement at seq 3
    c = C.check_settled(sr.receipt, sr.receipt_id, world.channel, world.settlements)
    assert c.status == "pass" and world.settlements[0].signature in c.detail and "seq 3" in c.detail


# --- tampering with one receipt ------------------------------------------------------------------------------

def _bump(value):
    if isinstance(value, Pubkey):
        return Pubkey(hashlib.sha256(bytes(value)).digest())
    if isinstance(value, (bytes, bytearray)):
        return hashlib.sha256(bytes(value)).digest()
    return value + 1


@pytest.mark.parametrize("field", [f for f in RECEIPT_FIELDS if f != "prev_receipt_id"])
def test_each_tampered_field_is_caught(world, field):
    sr = world.receipts[5]
    bad = retamper(sr, **{field: _bump(getattr(sr.receipt, field))})
    failed = names_failed(audit_one(world, bad))
    assert "receipt.signature" in failed
    assert "receipt.inclusion" in failed


def test_tampered_prev_receipt_id_is_caught(world):
    sr, prev = world.receipts[5], world.receipts[4].receipt
    bad = retamper(sr, prev_receipt_id=_bump(sr.receipt.prev_receipt_id))
    failed = names_failed(audit_one(world, bad, prev=prev))
    assert {"receipt.signature", "receipt.inclusion", "receipt.link"} <= failed


def test_tampered_signature_is_caught(world):
    sr = world.receipts[2]
    raw = bytearray(bytes(sr.signature))
    raw[10] ^= 1
    failed = names_failed(audit_one(world, replace(sr, signature=Signature.from_bytes(bytes(raw)))))
    assert failed == {"receipt.signature"}


@pytest.mark.parametrize("node", [0, 1])
def test_tampered_proof_node_is_caught(world, node):
    sr = world.receipts[1]
    proof = list(sr.proof)
    proof[node] = _bump(proof[node])
    failed = names_failed(audit_one(world, replace(sr, proof=tuple(proof))))
    assert failed == {"receipt.inclusion"}


def test_proof_against_another_batch_is_caught(world):
    sr = world.receipts[1]
    assert names_failed(audit_one(world, replace(sr, batch=1))) == {"receipt.inclusion"}


def test_batch_not_on_chain_is_caught(world):
    sr = world.receipts[1]
    failed = names_failed(verify_receipt(replace(sr, batch=99), world.history, None))
    assert failed == {"receipt.inclusion"}


def test_wrong_claimed_id_is_caught(world):
    sr = world.receipts[1]
    assert names_failed(audit_one(world, replace(sr, claimed_id=bytes(32)))) == {"receipt.id"}


def test_receipt_of_another_program_is_caught(world):
    sr = world.receipts[0]
    failed = names_failed(verify_receipt(sr, world.history, world.batches[0], program_id=Pubkey.new_unique()))
    assert failed == {"receipt.program"}


# --- meter keys and rotation ---------------------------------------------------------------------------------

def test_unregistered_key_fails_even_with_a_valid_signature(world):
    intruder = Keypair()
    sr = sign(world.receipts[0].receipt, intruder, 0, world.receipts[0].proof)
    res = audit_one(world, sr)
    assert next(c for c in res if c.name == "receipt.signature").status == "pass"
    assert names_failed(res) == {"receipt.meter_key"}
    assert str(intruder.pubkey()) in next(c for c in res if c.name == "receipt.meter_key").detail


def test_rotated_out_key_verifies_only_for_its_own_config_version():
    old, new = Keypair(), Keypair()
    history = ConfigHistory({
        1: ConfigVersion(1, 250, 100, frozenset({old.pubkey()})),
        2: ConfigVersion(2, 250, 100, frozenset({old.pubkey(), new.pubkey()})),  # new key added
        3: ConfigVersion(3, 250, 100, frozenset({new.pubkey()})),  # old key removed
    }, current=3)
    pid, cust, prov = Pubkey.new_unique(), Pubkey.new_unique(), Pubkey.new_unique()

    def receipt(version):
        return next_receipt(None, program_id=pid, config_version=version, customer=cust, provider=prov,
                            add_amount=5)

    def key_check(version, kp):
        sr = sign(receipt(version), kp)
        assert C.check_signature(sr.receipt_id, sr.signature, sr.meter).status == "pass"
        return C.check_meter_registered(sr.meter, version, history).status

    assert key_check(1, old) == "pass"
    assert key_check(2, old) == "pass"
    assert key_check(3, old) == "fail"
    assert key_check(1, new) == "fail"
    assert key_check(3, new) == "pass"
    assert key_check(4, new) == "fail"  # a version the chain never had


# --- the chain of receipts -----------------------------------------------------------------------------------

def test_chain_missing_receipt_is_caught(world):
    rs = [s.receipt for s in world.receipts]
    failed = names_failed(C.check_chain(rs[:4] + rs[5:]))
    assert {"chain.seq", "chain.link"} <= failed and "chain.monotonic" not in failed


def test_chain_not_starting_at_one_is_caught(world):
    assert "chain.start" in names_failed(C.check_chain([s.receipt for s in world.receipts[1:]]))


def test_chain_decreasing_cumulative_is_caught_even_when_properly_signed(world):
    # An operator re-issues seq 6 with a lower cumulative and correct links: only monotonicity catches it.
    rs = [s.receipt for s in world.receipts]
    forged = replace(rs[5], cum_amount=rs[4].cum_amount - 1)
    chain = rs[:5] + [forged]
    for r in rs[6:]:
        chain.append(replace(r, prev_receipt_id=chain[-1].receipt_id))
    failed = names_failed(C.check_chain(chain))
    assert failed == {"chain.monotonic"}


@pytest.mark.parametrize("field", ["cum_gpu_ms", "cum_byte_seconds", "cum_egress_bytes"])
def test_chain_decreasing_quantity_is_caught(world, field):
    rs = [s.receipt for s in world.receipts[:3]]
    lowered = replace(rs[2], **{field: getattr(rs[1], field) - 1}) if getattr(rs[1], field) else None
    if lowered is None:  # quantity is zero at seq 2: raise seq 2 instead
        rs[1] = replace(rs[1], **{field: getattr(rs[2], field) + 1})
        rs[2] = replace(rs[2], prev_receipt_id=rs[1].receipt_id)
    else:
        rs[2] = lowered
    assert "chain.monotonic" in names_failed(C.check_chain(rs))


def test_chain_wrong_link_and_foreign_channel_are_caught(world):
    rs = [s.receipt for s in world.receipts[:3]]
    assert "chain.link" in names_failed(C.check_chain([rs[0], rs[1], replace(rs[2], prev_receipt_id=rs[0].receipt_id)]))
    other = replace(rs[2], customer=Pubkey.new_unique())
    assert "chain.channel" in names_failed(C.check_chain([rs[0], rs[1], other]))


def test_chain_period_going_back_is_caught(world):
    rs = [s.receipt for s in world.receipts[:2]]
    back = replace(rs[1], period_start=rs[0].period_end - 5)
    assert names_failed(C.check_chain([rs[0], back])) == {"chain.period"}


# --- settlements ---------------------------------------------------------------------------------------------

def _channel(world, settlements, channel=None):
    return verify_channel(world.receipts, world.history, lambda sr: world.batches.get(sr.batch), settlements,
                          channel or world.channel, program_id=world.program_id, committed=committed(world))


def test_tampered_split_is_caught(world):
    s = world.settlements[1]
    bad = replace(s, fee=s.fee + 1, provider_amount=s.provider_amount - 1)  # still sums to moved
    failed = names_failed(_channel(world, [world.settlements[0], bad, *world.settlements[2:]]))
    assert failed == {"settlement.split"}


def test_burn_skipped_is_caught(world):
    s = world.settlements[0]
    bad = replace(s, burn=0, provider_amount=s.provider_amount + s.burn)
    assert names_failed(_channel(world, [bad, *world.settlements[1:]])) == {"settlement.split"}


def test_overcharged_settlement_is_caught(world):
    s = world.settlements[1]
    fee, burn, prov = C.expected_split(s.moved + 50, 250, 100)
    bad = replace(s, moved=s.moved + 50, fee=fee, burn=burn, provider_amount=prov)
    assert names_failed(_channel(world, [world.settlements[0], bad, *world.settlements[2:]])) == {"settlement.moved"}


def test_settlement_of_a_different_receipt_is_caught(world):
    s = world.settlements[0]
    bad = replace(s, receipt_id=bytes(32))
    failed = names_failed(_channel(world, [bad, *world.settlements[1:]]))
    assert "settlement.receipt" in failed
    sr = world.receipts[s.seq - 1]
    assert C.check_settled(sr.receipt, sr.receipt_id, world.channel, [bad]).failed


def test_channel_account_disagreeing_with_settlements_is_caught(world):
    ch = replace(world.channel, settled_cumulative=world.channel.settled_cumulative + 1)
    assert names_failed(_channel(world, world.settlements, ch)) == {"channel.settled"}
    ch = replace(world.channel, last_receipt_id=bytes(32))
    assert names_failed(_channel(world, world.settlements, ch)) == {"channel.last_receipt"}


def test_stated_previous_settled_is_compared(world):
    s = world.settlements[1]
    ok = replace(s, previously_settled=world.settlements[0].cumulative)
    bad = replace(s, previously_settled=world.settlements[0].cumulative - 1)
    assert not names_failed(C.check_settlement(ok, world.settlements[0].cumulative, world.history))
    assert names_failed(C.check_settlement(bad, world.settlements[0].cumulative, world.history)) == {
        "settlement.previous"}


def test_expected_split_always_adds_up():
    for moved in (0, 1, 9_999, 10_000, 123_456_789, (1 << 64) - 1):
        for fee, burn in ((0, 0), (250, 100), (1999, 1), (1000, 1000)):
            f, b, p = C.expected_split(moved, fee, burn)
            assert f + b + p == moved and min(f, b, p) >= 0
            assert f == moved * fee // 10_000


# --- batches ---------------------------------------------------------------------------------------------

def test_tampered_batch_is_caught(world):
    b = world.batches[1]
    members = world.batch_members[1]
    amounts = world.batch_amounts(1)
    assert names_failed(verify_batch(replace(b, root=bytes(32)), members, world.history, amounts)) == {"batch.root"}
    assert names_failed(verify_batch(replace(b, count=b.count + 1), members, world.history, amounts)) == {"batch.count"}
    assert names_failed(verify_batch(replace(b, total=b.total - 1), members, world.history, amounts)) == {"batch.total"}
    # a receipt dropped from the batch, or moved to another subtree: the root no longer matches (siblings
    # swap freely: nodes hash sorted pairs, so a leaf's position within its pair is not committed)
    assert "batch.root" in names_failed(verify_batch(b, members[:-1], world.history, amounts[:-1]))
    siblings = [members[1], members[0], *members[2:]]
    assert not names_failed(verify_batch(b, siblings, world.history, amounts))
    swapped = [members[2], members[1], members[0], members[3]]
    assert "batch.root" in names_failed(verify_batch(b, swapped, world.history, amounts))
    assert names_failed(verify_batch(replace(b, meter=Pubkey.new_unique()), members, world.history, amounts)) == {
        "batch.poster"}


# --- epochs --------------------------------------------------------------------------------------------------

def test_epoch_over_claim_and_non_pro_rata_are_caught(world):
    e = world.epoch
    p0, p1 = e.providers
    greedy = replace(e, providers=(replace(p0, reward=p0.reward + 1), p1), claimed_total=e.claimed_total + 1)
    assert names_failed(verify_epoch(greedy)) == {"epoch.pro_rata"}
    over = replace(e, funded=e.claimed_total - 1)
    assert "epoch.not_over_claimed" in names_failed(verify_epoch(over))
    lying_total = replace(e, claimed_total=e.claimed_total - 1)
    assert names_failed(verify_epoch(lying_total)) == {"epoch.claimed_total"}
    wrong_rev = replace(e, total_revenue=e.total_revenue + 1)
    assert "epoch.revenue" in names_failed(verify_epoch(wrong_rev))
    assert names_failed(verify_epoch(e, {p0.provider: p0.revenue - 1, p1.provider: p1.revenue})) == {
        "epoch.settled_revenue"}


def test_epoch_rounding_is_down_and_never_over_funded():
    funded, revs = 1_000_001, [3, 3, 3]
    total = sum(revs)
    claims = [C.expected_claim(funded, r, total) for r in revs]
    assert claims == [333_333] * 3 and sum(claims) <= funded
    pes = tuple(ProviderEpochView(Pubkey.new_unique(), r, True, c) for r, c in zip(revs, claims))
    from auditor.views import EpochView
    assert not names_failed(verify_epoch(EpochView(1, funded, total, sum(claims), providers=pes)))


def test_withheld_settled_receipts_are_caught(world):
    shown = world.receipts[:5]  # the channel is settled to seq 10
    failed = names_failed(verify_channel(shown, world.history, lambda sr: world.batches.get(sr.batch),
                                         world.settlements, world.channel, program_id=world.program_id,
                                         committed=committed(world)))
    # ... and the settlements of seq 6..10 are not tied to any receipt's inclusion proof
    assert failed == {"chain.covers_settled", "chain.covers_committed", "settlement.inclusion"}


def _verify(world, receipts, settlements=None, channel=None, committed_=None):
    return verify_channel(receipts, world.history, lambda sr: world.batches.get(sr.batch),
                          world.settlements if settlements is None else settlements, channel or world.channel,
                          program_id=world.program_id, committed=committed_)


def test_withheld_committed_receipts_are_caught(world):
    """The newest receipts, committed on-chain but not settled, hidden: only the batches' members reveal it."""
    settled_to = max(s.seq for s in world.settlements[:2])
    shown = [s for s in world.receipts if s.receipt.seq <= settled_to]
    channel = replace(world.channel, last_seq=settled_to, last_receipt_id=world.receipts[settled_to - 1].receipt_id,
                      settled_cumulative=next(s.cumulative for s in world.settlements if s.seq == settled_to))
    checks = _verify(world, shown, world.settlements[:2], channel, committed(world))
    assert names_failed(checks) == {"chain.covers_committed"}
    # a member list that does not make a batch's root proves nothing: coverage is not verified, never clean
    lying = C.committed_top(list(world.batches.values()),
                            lambda b: world.batch_members[b.index][:-1], world.customer, world.provider)
    rep = Report("channel", "x").add(_verify(world, shown, world.settlements[:2], channel, lying))
    assert not rep.failures and not rep.ok and rep.outcome == "NOT VERIFIED"
    assert {c.name for c in rep.pending} == {"chain.covers_committed"}
    # without batch members at all: not verified either
    rep = Report("channel", "x").add(_verify(world, world.receipts))
    assert [c.name for c in rep.pending] == ["chain.covers_committed"] and not rep.ok


def test_an_empty_list_or_no_receipts_is_never_clean(world):
    rep = Report("channel", "x").add(_verify(world, [], committed_=committed(world)))
    assert {"chain.covers_settled", "chain.covers_committed", "settlement.inclusion"} <= rep.failed_names()
    rep = Report("channel", "x").add(_verify(world, None, committed_=committed(world)))  # chain only
    assert not rep.failures and not rep.ok and rep.passes(allow_pending=True)
    assert {"chain.seq", "chain.covers_settled", "chain.covers_committed", "settlement.inclusion",
            "settlement.receipt"} <= {c.name for c in rep.pending}


def test_a_receipt_without_batch_or_proof_is_not_verified(world):
    sr = world.receipts[4]
    for doc in (replace(sr, batch=None, proof=(), has_proof=False), replace(sr, proof=(), has_proof=False)):
        rep = Report("receipt", "x").add(audit_one(world, doc))
        assert not rep.failures and rep.outcome == "NOT VERIFIED" and not rep.ok and rep.passes(allow_pending=True)
        assert [c.name for c in rep.pending] == ["receipt.inclusion"]
    # in a channel, the settlement that paid a receipt served without its proof is not tied to it: a failure
    stripped = [replace(s, batch=None, proof=(), has_proof=False) if s.receipt.seq == world.settlements[0].seq
                else s for s in world.receipts]
    assert names_failed(_verify(world, stripped, committed_=committed(world))) == {"settlement.inclusion"}


def test_a_settlement_naming_another_batch_than_its_receipts_proof_fails(world):
    s = world.settlements[0]
    other = next(i for i in world.batches if i != s.batch)
    bad = [replace(s, batch=other), *world.settlements[1:]]
    assert names_failed(_verify(world, world.receipts, bad, committed_=committed(world))) == {"settlement.inclusion"}


def test_audit_all_summary_is_clean_only_when_every_report_is():
    from auditor.result import all_summary, failed as failed_, passed, pending

    clean = Report("a", "1").add(passed("x.y", "holds"))
    waiting = Report("b", "2").add(passed("x.y", "holds"), pending("x.z", "not served"))
    broken = Report("c", "3").add(failed_("x.y", "does not hold"))
    assert all_summary([clean, clean]).line.endswith("all CLEAN") and all_summary([clean]).passes()
    s = all_summary([clean, waiting])
    assert s.outcome == "NOT VERIFIED" and not s.passes() and s.passes(allow_pending=True)
    assert "all CLEAN" not in s.line and "b 2" in s.line
    s = all_summary([clean, waiting, broken])
    assert s.outcome == "FAILED" and not s.passes(allow_pending=True)
    nothing = Report("d", "4").add(pending("x.z", "not served"))
    assert not all_summary([nothing]).passes(allow_pending=True)


def test_an_unbatched_receipt_before_a_committed_one_is_bound_through_the_chain(world):
    """A receipt never batched itself (the meter reissued it under a new config version) is bound by the signed
    prev_receipt_id of the next receipts, up to a committed one; after the last committed one it is not."""
    settled = {s.seq for s in world.settlements}
    k = next(s.receipt.seq for s in world.receipts if s.receipt.seq not in settled)
    rs = [replace(s, batch=None, proof=(), has_proof=False) if s.receipt.seq == k else s for s in world.receipts]
    checks = _verify(world, rs, committed_=committed(world))
    inc = next(c for c in checks if c.name == "receipt.inclusion")
    assert inc.status == "pass" and not names_failed(checks), inc.detail
    # the same receipt with its chain broken anywhere: nothing binds it, it stays not verified
    from auditor.result import failed as failed_
    from auditor.verify import bound_through_the_chain, verify_receipt

    results = [(sr, world.batches.get(sr.batch) if sr.batch is not None else None,
                verify_receipt(sr, world.history, world.batches.get(sr.batch) if sr.batch is not None else None))
               for sr in rs]
    status = {sr.receipt.seq: next(c.status for c in cs if c.name == "receipt.inclusion")
              for sr, _b, cs in bound_through_the_chain(results, [])}
    assert status[k] == "pass"
    broken = bound_through_the_chain(results, [failed_("chain.link", "prev_receipt_id is not ...")])
    assert next(c.status for c in broken[k - 1][2] if c.name == "receipt.inclusion") == "pending"
