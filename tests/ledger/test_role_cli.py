"""The role commands through the real `solmeter` CLI against the embedded localnet: operator init, a
customer and a provider doing their part, the crank, reconcile; and bad input as one clear line."""
from __future__ import annotations

import json

import pytest



@pytest.fixture
def cli(cli_runner):
    return cli_runner


def _wallet(cli, name: str):
    from solders.keypair import Keypair

    from ledger.engine.chain import RpcChain
    from ledger.ops.bootstrap import airdrop
    from solmeter.keys import write_keypair

    kp = Keypair()
    path = cli.dir / f"{name}.json"
    write_keypair(path, kp)
    airdrop(RpcChain(cli.node.rpc_url), kp.pubkey())
    return kp, str(path)


def test_every_role_through_the_cli(cli):
    out = cli("operator", "init", "--fee-bps", "300", "--burn-bps", "100").output
    assert "initialized program" in out
    assert "fee 300 bps, burn 100 bps" in cli("operator", "fees").output
    cust, cpath = _wallet(cli, "customer")
    prov, ppath = _wallet(cli, "provider")
    cli("operator", "mint", str(cust.pubkey()), "100")
    cli("operator", "mint", str(prov.pubkey()), "50")
    cli("customer", "register", "-k", cpath)
    assert "deposited 25.500000" in cli("customer", "deposit", "25.5", "-k", cpath, "-y").output
    res = cli("customer", "set-limit", str(prov.pubkey()), "10", "-k", cpath, ok=False)
    assert res.exit_code == 1 and "is not registered" in res.output
    cli("provider", "register", "-k", ppath)
    cli("customer", "set-limit", str(prov.pubkey()), "10", "-k", cpath)
    cli("provider", "stake", "5", "-k", ppath, "-y")
    st = json.loads(cli("customer", "status", "--json", "-k", cpath).output)
    # every amount in base units, followed by its exact decimal string (as a transaction's JSON gives it)
    assert st["escrow"] == 25_500_000 and st["escrow_tokens"] == "25.500000"
    assert st["wallet_balance"] == 74_500_000 and st["wallet_balance_tokens"] == "74.500000"
    assert st["total_deposited_tokens"] == "25.500000" and st["withdrawal_requested_tokens"] == "0.000000"
    pst = json.loads(cli("provider", "status", "--json", "-k", ppath).output)
    assert pst["stake"] == 5_000_000 and pst["stake_tokens"] == "5.000000"
    assert pst["payout_balance"] == 45_000_000 and pst["payout_balance_tokens"] == "45.000000"
    cli("customer", "request-withdrawal", "1", "-k", cpath, "-y")
    res = cli("customer", "withdraw", "-k", cpath, "-y", ok=False)  # the delay has not passed
    assert res.exit_code == 1 and "WithdrawalDelayNotElapsed" in res.output and "Traceback" not in res.output
    out = cli("operator", "propose-slash", str(prov.pubkey()), "--amount", "2", "--evidence", "double billing", "-y").output
    assert "slash 0" in out
    cli("provider", "contest-slash", "0", "--evidence", "logs show otherwise", "-k", ppath)
    cli("operator", "resolve-slash", str(prov.pubkey()), "0", "--uphold", "-y")
    cli("operator", "execute-slash", str(prov.pubkey()), "0", "-y")
    pst = json.loads(cli("provider", "status", "--json", "-k", ppath).output)
    assert pst["stake"] == 3_000_000 and pst["slashes"][0]["state"] == "executed"
    assert pst["slashes"][0]["amount"] == 2_000_000 and pst["slashes"][0]["amount_tokens"] == "2.000000"
    cli("operator", "crank")
    assert "0 difference(s)" in cli("operator", "reconcile").output
    bal = json.loads(cli("operator", "ledger", "--json").output)
    assert bal["trial_balance"] == {"custody": 0, "obligation": 0}
    assert bal["balances"][f"customer_escrow:{cust.pubkey()}"] == 25_500_000
    assert bal["balances"]["treasury_fees"] == 2_000_000  # the slashed stake


@pytest.mark.parametrize("args,needle", [
    (("customer", "deposit", "1.0000001", "-y"), "more than 6 decimal places"),
    (("customer", "deposit", "0", "-y"), "positive"),
    (("customer", "deposit", "abc", "-y"), "not a number"),
    (("customer", "status", "-k", "/nonexistent/wallet.json"), "keypair file"),
    (("provider", "stake", "1", "-k", "/nonexistent/wallet.json", "-y"), "does not exist"),
    (("customer", "usage", "--api", "http://127.0.0.1:9"), "meter API http://127.0.0.1:9: ConnectError"),
])
def test_bad_input_is_one_clear_line(cli, args, needle):
    cli("operator", "init")
    res = cli(*args, ok=False)
    assert res.exit_code == 1
    lines = [l for l in res.output.splitlines() if l.strip()]
    assert len(lines) == 1 and needle in lines[0], res.output


def test_commands_need_a_deployment_first(cli):
    res = cli("customer", "deposit", "1", "-y", ok=False)
    assert res.exit_code == 1 and "operator init" in res.output


@pytest.mark.parametrize("stop, rc", [("SIGINT", 130), ("SIGTERM", 143)])
def test_operator_serve_runs_the_api_and_the_jobs(cli, isolated_env, stop, rc):
    import os
    import signal
    import subprocess
    import sys
    import time

    import httpx

    from ledger_helpers import free_port

    from solmeter.commands.common import keypair
    from metering.read_client import SignedReader

    cli("operator", "init")
    cust, cpath = _wallet(cli, "customer")
    _prov, ppath = _wallet(cli, "provider")
    port = free_port()
    api = f"http://127.0.0.1:{port}"
    env = {**os.environ}
    proc = subprocess.Popen([sys.executable, "-m", "solmeter.cli", "operator", "serve", "--port", str(port)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        ok = False
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if httpx.get(f"{api}/healthz", timeout=2).status_code == 200:
                    ok = True
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        assert ok, proc.stdout.read() if proc.poll() is not None else "API did not answer"
        # the dashboard is mounted: its page, and its session answer naming this cluster
        page = httpx.get(f"{api}/dashboard/", timeout=5)
        assert page.status_code == 200 and "/dashboard/static/app.js" in page.text
        assert httpx.get(f"{api}/dashboard/api/session", timeout=5).json()["cluster"] == "localnet"
        # private reads: refused unsigned, answered to the operator's keypair (an admin of `operator serve`)
        status = f"/v1/customers/{cust.pubkey()}/status"
        assert httpx.get(api + status, timeout=5).status_code == 401
        r = SignedReader(api, keypair()).get(status)
        assert r.status_code == 200 and r.json()["paused"] is False, r.text
        # the role commands read the API signed with their -k
        st = json.loads(cli("customer", "status", "--json", "-k", cpath, "--api", api).output)
        assert st["meter"]["customer"] == str(cust.pubkey()) and st["meter"]["paused"] is False, st
        assert "no usage in that range" in cli("customer", "usage", "-k", cpath, "--api", api).output
        assert "no receipts" in cli("customer", "receipts", "-k", cpath, "--api", api).output
        assert "customers  0 billed by the meter" in cli("provider", "status", "-k", ppath, "--api", api).output
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            out = cli("operator", "jobs").output
            if "follow_chain" in out and " runs      0" not in out.split("follow_chain")[1].split("\n")[0]:
                break
            time.sleep(0.3)
        assert "follow_chain" in out and "failures   0" in out.split("follow_chain")[1].split("\n")[0], out
        # Ctrl-C or a supervisor's SIGTERM: a clean stop that says so (130 / 143: the shell's codes for them)
        proc.send_signal(getattr(signal, stop))
        log, _ = proc.communicate(timeout=30)
        assert proc.returncode == rc and f"stopped: the meter API on {api}" in log, log
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_operator_init_deploys_the_program_where_it_is_missing(isolated_env, monkeypatch):
    import localnet
    from localnet.genesis import default_config
    from typer.testing import CliRunner

    from ledger_helpers import free_port
    from solmeter.cli import app

    # devnet's feature set (SIMD-0500 refuses SBPF v0-v2 deployments): the committed program is SBPF v3
    node = localnet.start_in_process(ledger_dir=isolated_env / "bare", port=free_port(), ws_port=free_port(),
                                     genesis=default_config(preload_billing=False, features="devnet"))
    try:
        monkeypatch.setenv("SOLMETER_RPC_URL", node.rpc_url)
        monkeypatch.setenv("SOLMETER_DATA_DIR", str(isolated_env / "data"))
        res = CliRunner().invoke(app, ["operator", "init"], catch_exceptions=False)
        assert res.exit_code == 0, res.output
        assert "deploying program" in res.output and "initialized program" in res.output
        again = CliRunner().invoke(app, ["operator", "init"], catch_exceptions=False)  # idempotent
        assert again.exit_code == 0 and "already initialized" in again.output
    finally:
        node.stop()


def test_init_warns_once_when_the_admin_would_judge_its_own_slashes(cli):
    # Given no --arbiter, the admin is the arbiter: init says so in one WARNING line
    res = cli("operator", "init")
    warnings = [line for line in res.output.splitlines() if line.startswith("WARNING")]
    assert len(warnings) == 1 and "not independent" in warnings[0] and "--arbiter" in warnings[0]


def test_init_with_an_arbiter_does_not_warn_and_records_it(cli):
    from solders.keypair import Keypair

    arbiter = Keypair().pubkey()
    res = cli("operator", "init", "--arbiter", str(arbiter))
    assert "WARNING" not in res.output
    dep = json.loads((cli.dir / "data" / "deployment.json").read_text())
    assert dep["arbiter"] == str(arbiter) and dep["arbiter"] != dep["admin"]


def test_customer_opens_a_channel_once_with_an_optional_cap(cli):
    from ledger.engine.chain import RpcChain
    from ledger.ops.deployment import Deployment, read_account

    cli("operator", "init", "--arbiter", "11111111111111111111111111111112")
    cust, cpath = _wallet(cli, "customer")
    prov, ppath = _wallet(cli, "provider")
    other, opath = _wallet(cli, "other")
    cli("operator", "mint", str(prov.pubkey()), "1")
    cli("operator", "mint", str(other.pubkey()), "1")
    cli("customer", "register", "-k", cpath)
    cli("provider", "register", "-k", ppath)
    cli("provider", "register", "-k", opath)
    assert "no cap" in cli("customer", "open-channel", str(prov.pubkey()), "-k", cpath).output
    assert "at most 2.500000 tokens per epoch" in cli("customer", "open-channel", str(other.pubkey()), "--limit", "2.5",
                                               "-k", cpath).output
    dep = Deployment.load(cli.dir / "data" / "deployment.json")
    ch = read_account(RpcChain(cli.node.rpc_url), "Channel", dep.program.channel_address(cust.pubkey(), other.pubkey()))
    assert int(ch.limit_per_epoch) == 2_500_000
    res = cli("customer", "open-channel", str(prov.pubkey()), "-k", cpath, ok=False)
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert res.exit_code == 1 and len(lines) == 1 and "already open" in lines[0]


def test_withdrawals_before_their_window_are_refused_in_one_line_saying_when(cli):
    cli("operator", "init")
    cust, cpath = _wallet(cli, "customer")
    prov, ppath = _wallet(cli, "provider")
    cli("operator", "mint", str(cust.pubkey()), "10")
    cli("operator", "mint", str(prov.pubkey()), "10")
    cli("customer", "register", "-k", cpath)
    cli("customer", "deposit", "5", "-k", cpath, "-y")
    cli("customer", "request-withdrawal", "1", "-k", cpath, "-y")
    out = cli("customer", "withdraw", "-k", cpath, "-y", ok=False).output
    assert out.startswith("error: the withdrawal of 1.000000 tokens is not ready yet (WithdrawalDelayNotElapsed): "
                          "run `solmeter customer withdraw` from ") and len(out.strip().splitlines()) == 1
    cli("provider", "register", "-k", ppath)
    cli("provider", "stake", "5", "-k", ppath, "-y")
    cli("provider", "request-unstake", "1", "-k", ppath, "-y")
    out = cli("provider", "withdraw-stake", "-k", ppath, "-y", ok=False).output
    assert out.startswith("error: the unstake of 1.000000 tokens is not ready yet (CooldownNotElapsed): "
                          "run `solmeter provider withdraw-stake` from ") and len(out.strip().splitlines()) == 1


def test_unstaking_more_than_the_stake_is_refused_before_anything_is_sent(cli):
    cli("operator", "init")
    prov, ppath = _wallet(cli, "provider")
    cli("operator", "mint", str(prov.pubkey()), "10")
    cli("provider", "register", "-k", ppath)
    cli("provider", "stake", "5", "-k", ppath, "-y")
    res = cli("provider", "request-unstake", "6", "-k", ppath, "-y", ok=False)
    assert res.exit_code == 1 and res.output.startswith("error: cannot request an unstake of 6.000000 tokens: provider ")
    assert "stakes 5.000000 tokens" in res.output
    assert json.loads(cli("provider", "status", "--json", "-k", ppath).output)["unstake_requested"] == 0
    cli("provider", "request-unstake", "5", "-k", ppath, "-y")  # the whole stake is fine


def test_a_customer_on_another_machine_needs_no_deployment_file(cli, monkeypatch):
    """README: on machines other than the operator's, set program_id (or nothing, for the localnet's program)
    and the role commands read the deployment (mint, decimals, treasury, keys) from the program's Config
    account. They refused with "no deployment at ...: run `solmeter operator init` first", an operator's
    step a customer must not take."""
    cli("operator", "init")
    cust, cpath = _wallet(cli, "customer")
    cli("operator", "mint", str(cust.pubkey()), "10")
    monkeypatch.setenv("SOLMETER_DATA_DIR", str(cli.dir / "customer-machine"))  # no deployment.json there
    cli("customer", "register", "-k", cpath)
    assert "deposited 2.000000" in cli("customer", "deposit", "2", "-k", cpath, "-y").output
    st = json.loads(cli("customer", "status", "--json", "-k", cpath).output)
    assert st["escrow"] == 2_000_000 and st["wallet_balance"] == 8_000_000
    monkeypatch.setenv("SOLMETER_PROGRAM_ID", str(cust.pubkey()))  # no Config there: still one line
    res = cli("customer", "status", "-k", cpath, ok=False)
    assert res.exit_code == 1 and "is not initialized" in res.output and "SOLMETER_PROGRAM_ID" in res.output


def test_spending_tokens_the_wallet_lacks_is_refused_in_one_line_saying_whose_and_how_much(cli):
    """Found walking the README: `operator fund-epoch 5` by an admin without tokens answered the program's
    `WrongTokenAccount (6011): A token account is not the registered one ...`, and a deposit beyond the wallet's
    balance the token program's bare `InsufficientFunds`; neither said whose wallet or what to do."""
    cli("operator", "init")
    res = cli("operator", "fund-epoch", "5", "-y", ok=False)  # the admin has no token account of the mint
    assert res.exit_code == 1 and "Traceback" not in res.output and "WrongTokenAccount" not in res.output
    assert "has no token account of mint" in res.output and "5.000000 tokens (5000000 base units) needed" in res.output
    assert "solmeter operator mint" in res.output
    cust, cpath = _wallet(cli, "customer")
    cli("customer", "register", "-k", cpath)
    cli("operator", "mint", str(cust.pubkey()), "1")
    res = cli("customer", "deposit", "5", "-k", cpath, "-y", ok=False)
    assert res.exit_code == 1 and res.output.startswith(f"error: deposit: wallet {cust.pubkey()} holds 1.000000 "
                                                         "tokens (1000000 base units), 5.000000 tokens")
    prov, ppath = _wallet(cli, "provider")
    cli("provider", "register", "-k", ppath)  # creates its (empty) token account
    res = cli("provider", "stake", "2", "-k", ppath, "-y", ok=False)
    assert res.exit_code == 1 and "holds 0.000000 tokens (0 base units), 2.000000 tokens" in res.output
    assert "InsufficientFunds" not in res.output
