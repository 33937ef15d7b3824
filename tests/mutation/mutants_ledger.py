"""Mutants of the settlement engine's failure handling and reconciliation (area `ledger`): each removes one
check and names the tests that must fail."""

FV = "tests/ledger/test_failures_visible.py"
EX = "tests/ledger/test_executor_localnet.py"
RT = "tests/ledger/test_intent_retry.py"
LT = "tests/ledger/test_lease_takeover.py"

MUTANTS = [
    dict(id="ledger-transient-keeps-sent", file="ledger/engine/executor.py",
         find="            if is_transient(error):\n", replace="            if False:\n",
         tests=[f"{EX}::test_a_transient_refusal_keeps_the_intent_sent_and_it_lands_after_a_rebuild[sqlite]"],
         why="a transaction refused for a passing reason (BlockhashNotFound) must not fail its intent for good"),
    dict(id="ledger-sol-cause-gone", file="ledger/engine/jobs.py",
         find="            return self._sol_shortfall(intent.kind) is None\n", replace="            return True\n",
         tests=[f"{FV}::test_an_unfunded_meter_key_is_said_once_shown_and_recovers_when_funded[sqlite]"],
         why="an intent that failed for lack of SOL is resent only once the key holds what it needs"),
    dict(id="ledger-retry-never", file="ledger/engine/intents.py",
         find="        if classify(intent.error or \"\") is Kind.NEVER:\n", replace="        if False:\n",
         tests=[f"{RT}::test_a_failed_intent_is_reopened_and_one_that_cannot_succeed_is_refused[sqlite]"],
         why="a batch refused as stale (receipts released) must never be reopened and posted"),
    dict(id="ledger-recon-every-treasury", file="ledger/engine/reconcile.py",
         find="        every = sorted(past_treasuries | {str(cfg.treasury)})\n",
         replace="        every = [str(cfg.treasury)]\n",
         tests=[f"{FV}::test_a_settle_refused_because_the_treasury_changed_is_rebuilt_and_reconcile_counts_both[sqlite]"],
         why="fees paid to a former treasury still count: reconcile stays exact across set_treasury"),
    dict(id="ledger-retry-wrong-token-account", file="ledger/engine/jobs.py",
         find='_RETRY_ALWAYS = ("WrongPda", "expired", "WrongTokenAccount")',
         replace='_RETRY_ALWAYS = ("WrongPda", "expired")',
         tests=[f"{FV}::test_a_settle_refused_because_the_treasury_changed_is_rebuilt_and_reconcile_counts_both[sqlite]"],
         why="a settle built before set_treasury / set_payout is rebuilt with the new accounts at once"),
    dict(id="ledger-warn-once", file="ledger/engine/service.py",
         find="        if self._said.get(name) == key:\n", replace="        if False:\n",
         tests=[f"{FV}::test_an_unfunded_meter_key_is_said_once_shown_and_recovers_when_funded[sqlite]"],
         why="a failure that repeats every run is logged once per cause, not once per run"),
    dict(id="ledger-lease-short-ttl", file="ledger/engine/service.py",
         find="    lease_ttl_ms: int = 10_000", replace="    lease_ttl_ms: int = 60_000",
         tests=[f"{LT}::test_a_killed_holders_job_is_taken_over_within_a_few_ticks[sqlite]"],
         why="a replica killed holding a job lease stops that job for one short TTL only, not a minute"),
    dict(id="ledger-lease-heartbeat", file="ledger/engine/service.py",
         find="                lease.renew()\n            except LeaseLost:",
         replace="                pass\n            except LeaseLost:",
         tests=[f"{LT}::test_a_live_holders_heartbeat_keeps_a_long_run_and_nobody_runs_it_twice[sqlite]"],
         why="a live holder's lease is renewed while it runs: a long run is never taken over (run twice at once)"),
    dict(id="ledger-lease-fence-commit", file="ledger/engine/lease.py",
         find="    if lease is not None:\n        lease.fence_in(session)", replace="    if False:\n        lease.fence_in(session)",
         tests=[f"{LT}::test_a_stale_holder_cannot_commit_after_a_takeover[sqlite]"],
         why="a holder that lost its lease commits nothing (no intent marked sent, so no transaction sent)"),
    dict(id="ledger-lease-fence-token", file="ledger/engine/lease.py",
         find='        holder = f"{self.holder}#{secrets.token_hex(4)}"', replace="        holder = self.holder",
         tests=[f"{LT}::test_a_lease_is_fenced_per_acquisition_even_for_the_same_replica[sqlite]"],
         why="the fencing token is per acquisition: a stalled run of a replica cannot commit under its newer run"),
]
