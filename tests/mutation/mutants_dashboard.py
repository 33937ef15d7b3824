"""Mutants of the dashboard's checks (issue 17): Sign-In With Solana (dashboard/siws.py), nonces and
sessions (sessions.py), the transactions the meter agrees to send for a wallet (wallet_tx.py), the read
rule per view (access.py) and JSON-only POSTs (routes.py). Each removes or weakens one check and names
the short tests that must fail with it. Run by scripts/mutation.py (format: docs/security-review.md,
"Mutation testing"); the browser tests (tests/dashboard/test_browser.py) attack the same checks end to end."""

SIWS = "dashboard/siws.py"
SESS = "dashboard/sessions.py"
WTX = "dashboard/wallet_tx.py"
ACC = "dashboard/access.py"
ROUTES = "dashboard/routes.py"
S = "tests/dashboard/test_siws.py::"
C = "tests/dashboard/test_dashboard_checks.py::"

MUTANTS = [
    dict(id="siws-domain", file=SIWS, find="    if msg.domain != expected.domain:", replace="    if False:",
         tests=[S + "test_a_message_not_the_one_asked_for_is_refused[over0-domain]"],
         why="a message signed on another site (a phishing page relaying to the meter) opens no session"),
    dict(id="siws-uri", file=SIWS, find="    if msg.uri != expected.uri:", replace="    if False:",
         tests=[S + "test_a_message_not_the_one_asked_for_is_refused[over1-uri]"],
         why="the message names this dashboard's URI"),
    dict(id="siws-chain", file=SIWS, find="    if msg.chain_id != expected.chain_id:", replace="    if False:",
         tests=[S + "test_a_message_not_the_one_asked_for_is_refused[over2-chain_id]"],
         why="a sign-in for another cluster is not one for this meter"),
    dict(id="siws-issued-future", file=SIWS, find="    if issued > now_ms:", replace="    if False:",
         tests=[S + "test_a_message_not_the_one_asked_for_is_refused[over3-issued_at]"],
         why="a message issued in the future is not the one the meter just asked for"),
    dict(id="siws-expired", file=SIWS, find="    if expires <= now_ms:", replace="    if False:",
         tests=[S + "test_a_message_not_the_one_asked_for_is_refused[over4-expiration_time]"],
         why="an expired sign-in message opens no session"),
    dict(id="siws-signature", file=SIWS,
         find="    if not Signature.from_bytes(signature).verify(Pubkey.from_string(msg.address), message):",
         replace="    if False:",
         tests=[S + "test_another_keys_signature_or_a_tampered_message_is_refused"],
         why="only the address's own ed25519 signature over the exact bytes signs in"),
    dict(id="nonce-address", file=SESS, find="        if p.address != address:", replace="        if False:",
         tests=[S + "test_a_nonce_is_used_once_by_the_address_it_was_issued_to_before_it_expires"],
         why="a nonce issued to one address does not sign in another"),
    dict(id="nonce-once", file=SESS, find="            p = self._pending.pop(nonce, None)",
         replace="            p = self._pending.get(nonce, None)",
         tests=[S + "test_a_nonce_is_used_once_by_the_address_it_was_issued_to_before_it_expires"],
         why="a signed sign-in message cannot be replayed"),
    dict(id="nonce-expiry", file=SESS, find="        if p.expires_ms <= self._clock():", replace="        if False:",
         tests=[S + "test_a_nonce_is_used_once_by_the_address_it_was_issued_to_before_it_expires"],
         why="a nonce expires with its message"),
    dict(id="session-expiry", file=SESS, find="            if s is not None and s.expires_ms <= self._clock():",
         replace="            if False:",
         tests=[S + "test_a_session_ends_at_its_expiry_or_when_closed"],
         why="a session ends at its expiry"),
    dict(id="tx-prepared", file=WTX, find="        if prepared is None:\n", replace="        if False:\n",
         tests=[C + "test_a_transaction_the_meter_did_not_prepare_is_refused",
                C + "test_a_transaction_prepared_for_another_wallet_is_refused"],
         why="the meter is no relay for transactions it did not build for that wallet"),
    dict(id="tx-signed", file=WTX,
         find="        if tx.signatures[0] == Signature.default() or not tx.signatures[0].verify(signers[0], bytes(tx.message)):",
         replace="        if False:",
         tests=[C + "test_an_unsigned_or_wrongly_signed_transaction_is_refused"],
         why="the wallet's own signature, checked before anything is sent or spent"),
    dict(id="tx-once", file=WTX, find="            if self._by_wallet.get(wallet, {}).pop(key, None) is None:",
         replace="            if self._by_wallet.get(wallet, {}).get(key, 1) is None:",
         tests=[C + "test_a_prepared_transaction_signed_by_its_wallet_is_taken_once"],
         why="a prepared transaction is sent at most once"),
    dict(id="view-status-needed", file=ACC,
         find="(Kind.CUSTOMER_STATUS, Kind.RECEIPTS, Kind.USAGE)", replace="(Kind.RECEIPTS, Kind.USAGE)",
         tests=[C + "test_a_customer_view_needs_the_customers_status_receipts_and_usage"],
         why="the customer view shows the status: the policy is asked for it"),
    dict(id="view-refusal", file=ACC, find="        if not d.allowed:", replace="        if False:",
         tests=[C + "test_each_view_is_read_by_its_party_and_the_operator_only"],
         why="a view answers only what the read policy allows"),
    dict(id="view-operator", file=ACC, find="operator=wallet in app_state.read_admins", replace="operator=True",
         tests=[C + "test_each_view_is_read_by_its_party_and_the_operator_only"],
         why="operator only for the meter's admin keys"),
    dict(id="post-json-only", file=ROUTES,
         find='    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":',
         replace="    if False:",
         tests=[C + "test_posts_take_a_json_object_only"],
         why="a cross-site form cannot post: every POST needs a JSON body"),
]
