"""`solmeter operator prices set`: a new price book is committed on-chain (its sha256, admin-signed) before the
meter prices with it, so that an auditor can recompute every receipt priced with it; the meter's own
`meter prices set` (database only) says that it is not on the record. Through the real CLI against the
embedded localnet."""
from __future__ import annotations

import pytest


BOOK = "version: 2\nstorage: {STANDARD: {unit_price: 1, per: 1048576}}\n"
OTHER = "version: 2\nstorage: {STANDARD: {unit_price: 2, per: 1048576}}\n"


@pytest.fixture
def cli(cli_runner):
    cli_runner("operator", "init")
    return cli_runner


def _book_file(cli, text: str, name: str = "prices.yaml"):
    path = cli.dir / name
    path.write_text(text)
    return str(path)


def _onchain(cli, version: int):
    """The PriceBook account of `version` (None when absent), read through RPC."""
    from solmeter.commands.common import deployment
    from ledger.engine.chain import RpcChain
    from ledger.ops.deployment import read_account

    dep = deployment()
    return read_account(RpcChain(cli.node.rpc_url), "PriceBook", dep.program.price_book_address(version))


def _stored(cli) -> dict[int, str]:
    from solmeter.commands.common import db
    from metering.prices import list_price_books

    engine, _ = db()
    with engine.connect() as conn:
        return {b["version"]: b["prices"] for b in list_price_books(conn)}


def test_a_new_price_book_is_committed_on_chain_before_the_meter_prices_with_it(cli):
    from metering.rollup.pricing import PriceBook

    # Given an initialized program (init committed the default book v1), When the operator sets book v2
    out = cli("operator", "prices", "set", _book_file(cli, BOOK)).output
    # Then its sha256 is on-chain at the PriceBook PDA of v2, and the meter's database holds the same book
    book = PriceBook.from_dict({"version": 2, "storage": {"STANDARD": {"unit_price": 1, "per": 1048576}}})
    acct = _onchain(cli, 2)
    assert acct is not None and bytes(acct.sha256) == book.sha256()
    assert PriceBook.from_json(_stored(cli)[2]) == book
    assert "committed on-chain" in out and book.sha256().hex() in out
    # And a rerun (e.g. after a failure in between) does nothing twice and says so
    again = cli("operator", "prices", "set", _book_file(cli, BOOK)).output
    assert "on-chain already" in again and "the meter had it already" in again


def test_an_interrupted_publish_is_finished_by_a_rerun(cli):
    from solmeter.commands.common import chain, deployment, keypair
    from ledger.ops.prices import commit_on_chain
    from metering.rollup.pricing import PriceBook

    # Given v2 committed on-chain but never stored by the meter (the process died in between)
    import yaml

    book = PriceBook.from_dict(yaml.safe_load(BOOK))
    assert commit_on_chain(chain(), deployment(), keypair(), book)
    assert 2 not in _stored(cli)
    # When the operator runs the same command again, Then the meter gets the book and nothing is sent twice
    out = cli("operator", "prices", "set", _book_file(cli, BOOK)).output
    assert "on-chain already" in out and "the meter prices with it" in out
    assert PriceBook.from_json(_stored(cli)[2]) == book


def test_a_committed_version_is_never_replaced_by_another_file(cli):
    # Given v2 committed on-chain
    cli("operator", "prices", "set", _book_file(cli, BOOK))
    before = bytes(_onchain(cli, 2).sha256)
    # When another file claims the same version, Then it is refused in one line naming both hashes
    res = cli("operator", "prices", "set", _book_file(cli, OTHER, "other.yaml"), ok=False)
    assert res.exit_code == 1 and res.output.count("\n") == 1
    assert "committed on-chain already with another file" in res.output and before.hex() in res.output
    # And neither the chain nor the meter changed
    assert bytes(_onchain(cli, 2).sha256) == before
    assert '"unit_price":1' in _stored(cli)[2]


def test_a_version_not_above_the_chains_latest_is_refused(cli):
    import yaml

    from solmeter.commands.common import chain, deployment, keypair
    from ledger.ops.prices import commit_on_chain
    from metering.rollup.pricing import PriceBook

    # Given v3 committed on-chain (by another machine: this meter's database does not have it)
    commit_on_chain(chain(), deployment(), keypair(),
                    PriceBook.from_dict(yaml.safe_load(BOOK.replace("version: 2", "version: 3"))))
    # When v2 comes after it, Then it is refused (versions only go up) and not stored
    res = cli("operator", "prices", "set", _book_file(cli, BOOK, "v2.yaml"), ok=False)
    assert res.exit_code == 1 and "not above the latest committed on-chain, 3" in res.output
    assert _onchain(cli, 2) is None and 2 not in _stored(cli)


def test_only_the_admin_commits_a_price_book(cli):
    from solders.keypair import Keypair

    from ledger.engine.chain import RpcChain
    from ledger.ops.bootstrap import airdrop
    from solmeter.keys import write_keypair

    # Given a funded key that is not the program's admin
    other = Keypair()
    path = cli.dir / "other.json"
    write_keypair(path, other)
    rpc = RpcChain(cli.node.rpc_url)
    airdrop(rpc, other.pubkey())
    lamports = rpc.lamports(other.pubkey())
    # When it tries to set a price book, Then it is told in one line, before paying anything
    res = cli("operator", "prices", "set", _book_file(cli, BOOK), "-k", str(path), ok=False)
    assert res.exit_code == 1 and "is not the program's admin" in res.output and str(other.pubkey()) in res.output
    assert rpc.lamports(other.pubkey()) == lamports
    assert _onchain(cli, 2) is None and 2 not in _stored(cli)


def test_bad_price_book_files_are_one_clear_line(cli):
    res = cli("operator", "prices", "set", str(cli.dir / "missing.yaml"), ok=False)
    assert res.exit_code == 1 and res.output.strip().endswith("does not exist")
    res = cli("operator", "prices", "set", _book_file(cli, "version: 0\n", "bad.yaml"), ok=False)
    assert res.exit_code == 1 and res.output.count("\n") == 1 and "version" in res.output


def test_the_meters_own_prices_set_warns_that_its_book_is_off_chain(cli):
    # The meter alone has no admin key: its book is in the database only, and it says what that means
    res = cli("meter", "prices", "set", _book_file(cli, BOOK))
    assert "not committed on-chain" in res.output and "solmeter operator prices set" in res.output
    assert _onchain(cli, 2) is None
    assert "version 2" in cli("operator", "prices", "show").output


def test_a_book_the_meter_holds_otherwise_is_refused_before_anything_is_committed(cli):
    # Given the meter's database holds another v2 (set off-chain with `meter prices set`)
    cli("meter", "prices", "set", _book_file(cli, OTHER, "other.yaml"))
    # When the operator commits its v2, Then it is refused in one line and the chain is left alone
    res = cli("operator", "prices", "set", _book_file(cli, BOOK), ok=False)
    assert res.exit_code == 1 and "holds another price book v2" in res.output
    assert _onchain(cli, 2) is None
    # And a version below the meter's latest is refused before the chain too
    cli("meter", "prices", "set", _book_file(cli, OTHER.replace("version: 2", "version: 5"), "v5.yaml"))
    res = cli("operator", "prices", "set", _book_file(cli, BOOK.replace("version: 2", "version: 4"), "v4.yaml"),
              ok=False)
    assert res.exit_code == 1 and "not above the meter's latest, 5" in res.output
    assert _onchain(cli, 4) is None
