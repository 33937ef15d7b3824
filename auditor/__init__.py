"""The auditor: verifies receipts, channels, batches, epochs, customers' escrows, providers' slashes and the
deployed program from public data alone.

Layers (pure first, I/O at the edges; docs/arch-auditor.md has the whole map):
    result.py        Check / Report: what each verification found, in words and as JSON
    receipt_file.py  the signed-receipt JSON document (files, the metering API) and its strict parser
    views.py         the on-chain facts the checks need, as plain values
    checks.py        pure verification functions: data in, Check out, no I/O
    history.py       config versions replayed from events; the version in force at a slot
    slashes.py       a provider's slashes replayed from events against the rules and the accounts
    customers.py     a customer's escrow: recorded totals and balance against the deposit/withdraw/settle flows
    verify.py        whole verifications on views: the Python API (verify_receipt, verify_channel, ...)
    bulk.py          many receipts (signature + proof) across processes
    sample.py        a really signed, self-consistent sample (benchmark and tests)
    decode.py        accounts -> views through contracts/client
    chain.py         reads the chain through JSON-RPC only (solana-py Client)
    api.py           receipts from the metering read API (claims, verified like files)
    program.py       deployed program bytes vs the committed build and a rebuild from source
    audits.py        one function per `solmeter audit` command: fetch, run the checks, build the report
    cli.py           `solmeter audit ...`

Nothing here trusts the operator's database or API: an API answer is only ever a claim that the checks
compare against the chain.
"""
