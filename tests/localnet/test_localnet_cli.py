"""`solmeter localnet start|reset|status`: help, one-line errors, status of a running node, reset."""
from __future__ import annotations

import json

from typer.testing import CliRunner

import localnet
from solmeter.commands.localnet import app

runner = CliRunner()


def test_help_lists_the_commands():
    out = runner.invoke(app, ["--help"]).output
    for cmd in ("start", "reset", "status"):
        assert cmd in out
    assert "--bpf-program ID SO" in runner.invoke(app, ["start", "--help"]).output


def test_status_of_a_running_node(isolated_env):
    with localnet.start_in_process() as h:
        r = runner.invoke(app, ["status", "--rpc-url", h.rpc_url, "--json"])
        assert r.exit_code == 0, r.output
        view = json.loads(r.output)
        assert view["version"] == "2.2.0" and view["slot"] == 0 and view["genesis_hash"]


def test_status_without_a_node_is_one_line_error(isolated_env):
    r = runner.invoke(app, ["status", "--rpc-url", "http://127.0.0.1:9"])
    assert r.exit_code == 1
    assert r.output.strip().count("\n") == 0 and "no validator answering" in r.output


def test_bad_genesis_arguments_are_one_line_errors(isolated_env, tmp_path):
    r = runner.invoke(app, ["start", "--ledger", str(tmp_path / "l"), "--bpf-program", "x"])
    assert r.exit_code == 1 and "takes two values" in r.output
    r = runner.invoke(app, ["start", "--ledger", str(tmp_path / "l"), "--bpf-program", "x", str(tmp_path / "no.so")])
    assert r.exit_code == 1 and "file not found" in r.output
    r = runner.invoke(app, ["start", "--ledger", str(tmp_path / "l"), "--frobnicate"])
    assert r.exit_code == 1 and "unexpected argument" in r.output
    # solana-test-validator's --upgradeable-program ID SO AUTHORITY
    r = runner.invoke(app, ["start", "--ledger", str(tmp_path / "l"), "--upgradeable-program", "x", "y"])
    assert r.exit_code == 1 and "takes three values: ID SO AUTHORITY" in r.output
    so = tmp_path / "p.so"
    so.write_bytes(b"\x7fELF")
    r = runner.invoke(app, ["start", "--ledger", str(tmp_path / "l"), "--upgradeable-program",
                            "11111111111111111111111111111112", str(so), "not-a-key"])
    assert r.exit_code == 1 and "--upgradeable-program authority: not a base58 public key" in r.output
    r = runner.invoke(app, ["start", "--ledger", str(tmp_path / "l"), "--finality-depth", "150"])
    assert r.exit_code == 2  # a usage error: the depth must leave the finalized blockhash valid (0..149)


def test_reset_deletes_the_ledger(isolated_env, tmp_path):
    import pytest

    from localnet.ledger import LedgerError

    ledger = tmp_path / "ledger"
    with localnet.start_in_process(ledger_dir=ledger) as h:
        from localnet.solana_py import SyncAsyncClient as Client
        from solders.keypair import Keypair

        Client(h.rpc_url).request_airdrop(Keypair().pubkey(), 10**9)
        r = runner.invoke(app, ["reset", "--ledger", str(ledger), "--yes"])  # refused while the node runs
        assert r.exit_code == 1 and "in use" in r.output
        with pytest.raises(LedgerError, match="in use"):  # and a second node cannot open it either
            localnet.start_in_process(ledger_dir=ledger)
    assert (ledger / "ledger.sqlite3").exists()
    r = runner.invoke(app, ["reset", "--ledger", str(ledger), "--yes"])
    assert r.exit_code == 0, r.output
    assert not (ledger / "ledger.sqlite3").exists()
    r = runner.invoke(app, ["reset", "--ledger", str(ledger), "--yes"])
    assert r.exit_code == 0 and "nothing to reset" in r.output
