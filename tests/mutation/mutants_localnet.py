"""Mutants of the localnet's conformance checks (issue 13): each removes one check that makes the node answer
as solana-test-validator does, and names the tests that must fail with it. Run by scripts/mutation.py
(format: docs/security-review.md, "Mutation testing"); every one must be KILLED."""

L = "localnet/"
C = "tests/localnet/test_commitment.py::"
G = "tests/localnet/test_genesis_conformance.py::"
P = "tests/localnet/test_pubsub_conformance.py::"
T = "tests/localnet/test_transactions.py::"

MUTANTS = [
    dict(id="tx-visible-only-at-its-level", file=L + "rpc/transactions.py",
         find="    if rec is None or rec.slot > ctx.bank.context_slot:",
         replace="    if rec is None:",
         tests=[C + "test_a_transaction_goes_processed_then_confirmed_then_finalized"],
         why="getTransaction must not answer a transaction below the commitment asked for (finalized by default)"),
    dict(id="block-visible-only-at-its-level", file=L + "rpc/chain.py",
         find="    if slot > level_slot:  # sealed perhaps, but not yet at the level asked for",
         replace="    if False:",
         tests=[C + "test_levels_trail_each_other_and_every_answered_slot_has_its_block"],
         why="getBlock must not serve a block the level asked for has not reached"),
    dict(id="min-context-slot-at-level", file=L + "rpc/params.py",
         find="        if m > slot:", replace="        if m > bank.slot:",
         tests=[C + "test_min_context_slot_is_checked_against_the_level"],
         why="minContextSlot is compared with the slot of the level the request reads at"),
    dict(id="finality-depth-bounded", file=L + "bank.py",
         find="        if not 0 <= finality_depth <= MAX_FINALITY_DEPTH:", replace="        if False:",
         tests=[C + "test_the_finality_depth_is_bounded_by_the_blockhash_window"],
         why="a finalized blockhash older than the window would be refused as expired"),
    dict(id="airdrop-distinct-blockhash", file=L + "bank.py",
         find="            if str(legacy.signatures[0]) not in self.history:", replace="            if True:",
         tests=[G + "test_airdrops_are_a_bare_transfer_even_twice_in_one_slot"],
         why="a second equal airdrop in one slot must be its own transaction, not AlreadyProcessed"),
    dict(id="block-subscribe-behind-flag", file=L + "pubsub.py",
         find='        elif meth == "blockSubscribe" and self.block_subscription:',
         replace='        elif meth == "blockSubscribe":',
         tests=[P + "test_block_and_vote_subscriptions_need_their_flags"],
         why="blockSubscribe is refused unless enabled, as solana-test-validator refuses it"),
    dict(id="signature-notification-at-level", file=L + "pubsub.py",
         find='            if sub.level == "processed":', replace="            if True:",
         tests=[P + "test_signature_notifications_wait_for_their_commitment"],
         why="a finalized signature subscription is not told before the transaction is finalized"),
    dict(id="account-notification-at-level", file=L + "pubsub.py",
         find='        if slot is None or sub.level == "processed" or self._reached(slot, sub.level):',
         replace="        if True:",
         tests=[P + "test_account_and_logs_notifications_wait_for_their_commitment"],
         why="account and logs subscriptions at finalized hear a change only once its slot is finalized"),
    dict(id="sigverify-every-signer", file=L + "bank.py",
         find="        for i in range(n):\n            if not Signature.from_bytes(",
         replace="        for i in range(1):\n            if not Signature.from_bytes(",
         tests=[T + "test_every_signature_is_verified_against_its_own_signer"],
         why="every signature of a transaction is checked, not only the fee payer's"),
    dict(id="sigverify-signer-offset", file=L + "bank.py",
         find="        off = start + (1 if message and message[0] & 0x80 else 0) + 3",
         replace="        off = start + 3",
         tests=[T + "test_every_signature_is_verified_against_its_own_signer"],
         why="a v0 message's version byte comes before the header: signer keys are read after it"),
]
