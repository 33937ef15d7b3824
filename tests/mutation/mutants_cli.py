"""Mutants of the command line's checks (area `cli`, issue 14): each removes one check and names the tests
that must fail. The audit's pending-versus-FAIL rule is here too (it is what `solmeter audit` prints)."""

OUT = "tests/cli/test_output_and_confirm.py"
LOC = "tests/ledger/test_cli_output_localnet.py"
E2E = "tests/auditor/test_e2e_localnet.py"
API = "tests/auditor/test_meter_api.py"
READ = "tests/metering/test_meter_read_api.py"

MUTANTS = [
    dict(id="cli-confirm-skipped", file="contracts/cli_output.py",
         find="    if yes:\n        return\n    stdin", replace="    if True:\n        return\n    stdin",
         tests=[f"{LOC}::test_without_yes_a_money_moving_command_sends_nothing",
                f"{OUT}::test_confirm_refuses_without_a_terminal_and_asks_on_one"],
         why="a money-moving command without -y is confirmed first, never sent unasked"),
    dict(id="cli-confirm-no-terminal", file="contracts/cli_output.py",
         find='    if not (hasattr(stdin, "isatty") and stdin.isatty()):\n', replace="    if False:\n",
         tests=[f"{OUT}::test_confirm_refuses_without_a_terminal_and_asks_on_one"],
         why="without a terminal and without -y the command is refused in one line saying to pass -y"),
    dict(id="cli-withdrawal-above-escrow", file="solmeter/commands/customer.py",
         find="        if units > st.escrow:\n", replace="        if False:\n",
         tests=[f"{LOC}::test_a_withdrawal_above_the_escrow_is_refused_before_sending"],
         why="a withdrawal above the escrow is refused, saying so, before anything is sent"),
    dict(id="cli-customer-registered", file="solmeter/commands/common.py",
         find='    if read_account(c, "Customer", dep.program.customer_address(wallet)) is None:\n',
         replace="    if False:\n",
         tests=[f"{LOC}::test_a_customer_not_registered_is_told_to_register"],
         why="a customer not registered is told to run `customer register` instead of a program error"),
    dict(id="cli-nothing-to-claim", file="solmeter/commands/provider.py",
         find="    if pe is None or int(pe.revenue) == 0:\n", replace="    if False:\n",
         tests=[f"{LOC}::test_claim_of_an_epoch_without_revenue_says_nothing_to_claim"],
         why="an epoch without revenue says nothing to claim and sends no transaction (no fee paid)"),
    dict(id="cli-claim-open-epoch", file="solmeter/commands/provider.py",
         find="    if epoch >= current:  # EpochNotClosed", replace="    if epoch > current:  # EpochNotClosed",
         tests=[f"{LOC}::test_claim_of_an_open_epoch_is_refused_and_of_an_unfunded_one_says_it_pays_nothing"],
         why="a claim of the epoch still open is refused before sending, saying when it closes"),
    dict(id="cli-prefix-ambiguous", file="solmeter/commands/audit.py",
         find="    if len(found) > 1:\n", replace="    if False:\n",
         tests=[f"{API}::test_an_ambiguous_receipt_prefix_lists_the_candidates"],
         why="an ambiguous receipt id prefix is refused listing the candidates, never resolved to one of them"),
    dict(id="cli-audit-batch-pending-beyond-count", file="auditor/audits.py",
         find="        if cfg is not None and index >= cfg.batch_count:", replace="        if cfg is not None:",
         tests=[f"{E2E}::test_a_posted_batch_or_an_active_epoch_hidden_by_the_rpc_node_fails"],
         why="only a batch not posted yet is pending: a posted one the node hides fails (fail closed)"),
    dict(id="cli-audit-epoch-hidden", file="auditor/audits.py",
         find="        if any(True for _ in reader.signatures(addr, 1)):\n", replace="        if False:\n",
         tests=[f"{E2E}::test_a_posted_batch_or_an_active_epoch_hidden_by_the_rpc_node_fails"],
         why="only an epoch without activity is pending: one whose address has transactions but no account fails"),
    dict(id="cli-runway-lease-rate", file="metering/status.py",
         find="    rate = max(recent_per_hour, leased_per_hour)\n", replace="    rate = recent_per_hour\n",
         tests=[f"{READ}::test_status_and_runway"],
         why="the runway of a new lease uses the leases' full rate, not the last hour's few minutes of it"),
]
