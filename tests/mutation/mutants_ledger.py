"""Mutants of the settlement engine's failure handling and reconciliation (area `ledger`): each removes one
check and names the tests that must fail."""

FV = "tests/ledger/test_failures_visible.py"
EX = "tests/ledger/test_executor_localnet.py"
RT = "tests/ledger/test_intent_retry.py"

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
]
