"""Mutants of the settlement engine's failure handling and reconciliation (area `ledger`): each removes one
check and names the tests that must fail."""

FV = "tests/ledger/test_failures_visible.py"
EX = "tests/ledger/test_executor_localnet.py"
RT = "tests/ledger/test_intent_retry.py"
PB = "tests/ledger/test_operator_prices.py"

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
    dict(id="ledger-prices-chain-first", file="ledger/ops/prices.py",
         find="    sig = commit_on_chain(chain, dep, admin, book)\n", replace="    sig = None\n",
         tests=[f"{PB}::test_a_new_price_book_is_committed_on_chain_before_the_meter_prices_with_it"],
         why="the meter must never price with a book whose sha256 is not on-chain (its receipts are unauditable)"),
    dict(id="ledger-prices-same-file", file="ledger/ops/prices.py",
         find="    if bytes(onchain.sha256) == book.sha256():\n", replace="    if True:\n",
         tests=[f"{PB}::test_a_committed_version_is_never_replaced_by_another_file"],
         why="a version committed on-chain with another file must not be stored by the meter under that version"),
    dict(id="ledger-prices-admin", file="ledger/ops/prices.py",
         find="    if str(cfg.admin) != str(admin.pubkey()):\n", replace="    if False:\n",
         tests=[f"{PB}::test_only_the_admin_commits_a_price_book"],
         why="a key that is not the admin is told so before it pays for a transaction the program refuses"),
    dict(id="ledger-prices-db-conflict", file="ledger/ops/prices.py",
         find="    if book.version in stored and PriceBook.from_json(stored[book.version]) != book:\n",
         replace="    if False:\n",
         tests=[f"{PB}::test_a_book_the_meter_holds_otherwise_is_refused_before_anything_is_committed"],
         why="a book the meter's database holds otherwise is refused before the chain commits a sha256 of it"),
]
