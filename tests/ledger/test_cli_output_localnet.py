"""The role commands' output against the embedded localnet behind real JSON-RPC: `--output json` of
transactions (signature, Explorer link, amounts in base units and as decimal strings), the text confirmation
(amount in tokens and the Explorer link), the refusal without -y (nothing sent), and the checks made before
anything is sent: a customer not registered, a withdrawal above the escrow, an epoch with nothing to claim,
the unstake window's deadline."""
from __future__ import annotations

import json
from urllib.parse import quote

import pytest



@pytest.fixture
def cli(cli_runner):
    cli_runner("operator", "init")
    return cli_runner


def _wallet(cli, name: str, tokens: str | None = "100"):
    from solders.keypair import Keypair

    from ledger.engine.chain import RpcChain
    from ledger.ops.bootstrap import airdrop
    from solmeter.keys import write_keypair

    kp = Keypair()
    path = cli.dir / f"{name}.json"
    write_keypair(path, kp)
    airdrop(RpcChain(cli.node.rpc_url), kp.pubkey())
    if tokens:
        cli("operator", "mint", str(kp.pubkey()), tokens)
    return kp, str(path)


def _landed(cli, sig: str) -> bool:
    from solders.signature import Signature

    from ledger.engine.chain import RpcChain

    st = RpcChain(cli.node.rpc_url).client.get_signature_statuses([Signature.from_string(sig)])[0]
    return st is not None and st.err is None


def _escrow(cli, wallet) -> int:
    return json.loads(cli("customer", "status", "--output", "json", "-k", wallet).stdout)["escrow"]


def test_transactions_print_json_with_signature_link_and_amounts(cli):
    cust, cpath = _wallet(cli, "customer")
    reg = json.loads(cli("customer", "register", "-k", cpath, "--output", "json").stdout)
    assert reg["action"] == "customer register" and _landed(cli, reg["signature"])
    assert "amount" not in reg  # no tokens moved
    out = json.loads(cli("customer", "deposit", "25.5", "-k", cpath, "-y", "--output", "json").stdout)
    assert out["action"] == "customer deposit" and out["wallet"] == str(cust.pubkey())
    assert out["amount"] == 25_500_000 and out["amount_tokens"] == "25.500000" and out["decimals"] == 6
    assert isinstance(out["amount"], int) and _landed(cli, out["signature"])
    assert out["cluster"] == "localnet"
    assert out["explorer"] == (f"https://explorer.solana.com/tx/{out['signature']}?cluster=custom&customUrl="
                               f"{quote(cli.node.rpc_url, safe='')}")
    # the root's --output is the same switch, for any command
    prov, ppath = _wallet(cli, "provider")
    cli("provider", "register", "-k", ppath)
    staked = json.loads(cli("--output", "json", "provider", "stake", "5", "-k", ppath, "-y").stdout)
    assert staked["amount"] == 5_000_000 and staked["amount_tokens"] == "5.000000" and _landed(cli, staked["signature"])
    cli("operator", "mint", _pub(str(cli.dir / "data" / "id.json")), "10")  # the admin funds epochs from its tokens
    funded = json.loads(cli("operator", "fund-epoch", "2", "-y", "--output", "json").stdout)
    assert funded["amount"] == 2_000_000 and funded["epoch"] == 0 and _landed(cli, funded["signature"])
    assert _escrow(cli, cpath) == 25_500_000


def test_the_text_confirmation_says_the_amount_and_links_the_transaction(cli):
    _, cpath = _wallet(cli, "customer")
    cli("customer", "register", "-k", cpath)
    lines = cli("customer", "deposit", "1.25", "-k", cpath, "-y").stdout.splitlines()
    assert lines[0].startswith("deposited 1.250000 tokens: transaction ")
    sig = lines[0].rsplit(" ", 1)[1]
    assert _landed(cli, sig)
    assert lines[1].strip() == (f"https://explorer.solana.com/tx/{sig}?cluster=custom&customUrl="
                                f"{quote(cli.node.rpc_url, safe='')}")


def test_without_yes_a_money_moving_command_sends_nothing(cli):
    _, cpath = _wallet(cli, "customer")
    cli("customer", "register", "-k", cpath)
    res = cli("customer", "deposit", "3", "-k", cpath, ok=False)  # CliRunner's stdin is not a terminal
    assert res.exit_code == 1
    assert res.output.strip().splitlines() == [
        "error: not confirmed: deposit 3.000000 tokens from wallet "
        f"{_pub(cpath)} into its escrow; stdin is not a terminal, pass -y "
        "(--yes) to confirm"]
    assert _escrow(cli, cpath) == 0
    assert cli("customer", "deposit", "3", "-k", cpath, "--yes").exit_code == 0
    assert _escrow(cli, cpath) == 3_000_000


def _pub(path: str) -> str:
    from solmeter.keys import load_keypair

    return str(load_keypair(path).pubkey())


@pytest.mark.parametrize("args", [("customer", "deposit", "1", "-y"), ("customer", "request-withdrawal", "1", "-y"),
                                  ("customer", "withdraw", "-y"), ("customer", "set-limit", "11111111111111111111111111111111", "1"),
                                  ("customer", "open-channel", "11111111111111111111111111111111"),
                                  ("customer", "auto-top-up", "--threshold", "1", "--amount", "1", "--allowance", "2",
                                   "-y")])
def test_a_customer_not_registered_is_told_to_register(cli, args):
    _, cpath = _wallet(cli, "customer")
    res = cli(*args, "-k", cpath, ok=False)
    assert res.exit_code == 1
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and "is not registered: run `solmeter customer register" in lines[0], res.output
    assert "customer register" in cli("customer", "status", "-k", cpath).stdout


def test_a_withdrawal_above_the_escrow_is_refused_before_sending(cli):
    _, cpath = _wallet(cli, "customer")
    cli("customer", "register", "-k", cpath)
    cli("customer", "deposit", "2", "-k", cpath, "-y")
    res = cli("customer", "request-withdrawal", "2.000001", "-k", cpath, "-y", ok=False)
    assert res.exit_code == 1
    assert res.output.strip() == (f"error: cannot request a withdrawal of 2.000001 tokens: the escrow of "
                                  f"{_pub(cpath)} holds 2.000000 tokens (see `solmeter customer status`)")
    st = json.loads(cli("customer", "status", "--json", "-k", cpath).stdout)
    assert st["withdrawal_requested"] == 0  # nothing was sent
    cli("customer", "request-withdrawal", "2", "-k", cpath, "-y")
    st = json.loads(cli("customer", "status", "--json", "-k", cpath, "--api", "http://127.0.0.1:9").stdout)
    assert st["withdrawal_requested"] == 2_000_000 and st["withdrawal_window"]["ready_at"].endswith("Z")
    text = cli("customer", "status", "-k", cpath, "--api", "http://127.0.0.1:9").stdout
    assert "withdrawal requested 2.000000 tokens at " in text and "`solmeter customer withdraw` from " in text


def test_claim_of_an_epoch_without_revenue_says_nothing_to_claim(cli):
    from ledger.engine.chain import RpcChain

    prov, ppath = _wallet(cli, "provider")
    cli("provider", "register", "-k", ppath)
    before = RpcChain(cli.node.rpc_url).lamports(prov.pubkey())
    res = cli("provider", "claim", "-k", ppath, ok=False)  # the default, the previous epoch: none yet
    assert res.exit_code == 1 and res.output.startswith("error: no epoch has closed yet: epoch 0 closes at ")
    _close_epoch_0(cli)
    res = cli("provider", "claim", "--epoch", "0", "-k", ppath)  # no -y needed: nothing is sent
    assert res.stdout.strip() == f"nothing to claim: provider {prov.pubkey()} had no revenue in epoch 0 (no transaction sent)"
    out = json.loads(cli("provider", "claim", "--epoch", "0", "-k", ppath, "--output", "json").stdout)
    assert out == {"action": "provider claim", "epoch": 0, "claimed": False, "signature": None,
                   "reason": "no revenue in that epoch"}
    assert RpcChain(cli.node.rpc_url).lamports(prov.pubkey()) == before  # no fee paid: no transaction
    _, other = _wallet(cli, "stranger", tokens=None)
    res = cli("provider", "claim", "--epoch", "0", "-k", other, ok=False)
    assert res.exit_code == 1 and "provider register" in res.output


def _close_epoch_0(cli) -> None:
    from contracts.economics import epoch_start
    from ledger.engine.chain import RpcChain
    from ledger.ops.deployment import read_config
    from solmeter.commands.common import deployment

    cfg = read_config(RpcChain(cli.node.rpc_url), deployment().program)
    end = epoch_start(int(cfg.genesis_ts), int(cfg.epoch_length), 1)
    cli.node.call(lambda bank: bank.time_travel(timestamp=end))


def test_claim_of_an_open_epoch_is_refused_and_of_an_unfunded_one_says_it_pays_nothing(cli):
    """Revenue settled in the open epoch 0 (MeterSim's receipts, settled by `operator crank`, which funds no
    epoch): the claim is refused before sending while epoch 0 is open (the program's EpochNotClosed would
    otherwise be the answer), and once it has closed the claim says it pays nothing because the pool is empty,
    and still records the epoch as claimed (withdraw-stake needs that)."""
    from contracts import DEFAULT_PROGRAM_ID
    from contracts.cli_output import local_time
    from contracts.economics import epoch_start
    from ledger.engine.chain import RpcChain
    from ledger.ops.deployment import read_account, read_config
    from solmeter.commands.common import db, deployment, settings
    from solmeter.keys import load_keypair

    from ledger_helpers import MeterSim, one_batch_of_usage

    prov, ppath = _wallet(cli, "provider")
    cust, cpath = _wallet(cli, "customer")
    c, dep = RpcChain(cli.node.rpc_url), deployment()
    engine, _ = db()
    one_batch_of_usage(c, dep, MeterSim(engine, load_keypair(settings().resolved_meter_keypair_path),
                                        DEFAULT_PROGRAM_ID), prov, cust)
    assert "settle_channels  {'confirmed': 1" in cli("operator", "crank").output
    pe = read_account(c, "ProviderEpoch", dep.program.provider_epoch_address(prov.pubkey(), 0))
    assert int(pe.revenue) > 0

    cfg = read_config(c, dep.program)
    closes = local_time(epoch_start(int(cfg.genesis_ts), int(cfg.epoch_length), 1))
    before = c.lamports(prov.pubkey())
    res = cli("provider", "claim", "--epoch", "0", "-k", ppath, "-y", ok=False)
    assert res.exit_code == 1
    assert res.output.strip() == (f"error: epoch 0 is not closed yet (EpochNotClosed): it closes at {closes}; "
                                  f"claim it after that")
    assert c.lamports(prov.pubkey()) == before  # nothing sent
    st = json.loads(cli("provider", "status", "--json", "-k", ppath, "--api", "http://127.0.0.1:9").stdout)
    assert st["unclaimed_epochs"] == 1 and st["claimable_epochs"] == 0  # the one with revenue is still open
    text = cli("provider", "status", "-k", ppath, "--api", "http://127.0.0.1:9").stdout
    assert "0 closed epoch(s) to claim (and the open epoch 0, claimable once it closes)" in text

    _close_epoch_0(cli)
    st = json.loads(cli("provider", "status", "--json", "-k", ppath, "--api", "http://127.0.0.1:9").stdout)
    assert st["unclaimed_epochs"] == 1 and st["claimable_epochs"] == 1
    assert "1 closed epoch(s) to claim\n" in cli("provider", "status", "-k", ppath, "--api", "http://127.0.0.1:9").stdout
    res = cli("provider", "claim", "-k", ppath, ok=False)  # no terminal, no -y: refused, naming what it would pay
    assert res.exit_code == 1 and "0 tokens: the epoch's reward pool was not funded" in res.output
    out = json.loads(cli("provider", "claim", "-k", ppath, "-y", "--output", "json").stdout)
    assert out["epoch"] == 0 and out["amount"] == 0 and out["reward_pool"] == 0
    assert out["revenue"] == int(pe.revenue) == out["total_revenue"] and _landed(cli, out["signature"])
    st = json.loads(cli("provider", "status", "--json", "-k", ppath, "--api", "http://127.0.0.1:9").stdout)
    assert st["unclaimed_epochs"] == 0 and st["claimable_epochs"] == 0
    res = cli("provider", "claim", "--epoch", "0", "-k", ppath, "-y", ok=False)
    assert res.output.strip() == f"error: epoch 0 was already claimed by {prov.pubkey()} (0.000000 tokens)"


def test_provider_status_shows_the_unstake_window(cli):
    from contracts.cli_output import local_time

    prov, ppath = _wallet(cli, "provider")
    cli("provider", "register", "-k", ppath)
    cli("provider", "stake", "5", "-k", ppath, "-y")
    cli("provider", "request-unstake", "1.5", "-k", ppath, "-y")
    st = json.loads(cli("provider", "status", "-k", ppath, "--output", "json", "--api", "http://127.0.0.1:9").stdout)
    w = st["unstake_window"]
    import datetime as dt

    def unix(iso):
        return int(dt.datetime.strptime(iso, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc).timestamp())
    from contracts.client import INITIALIZE_DEFAULTS
    cooldown = INITIALIZE_DEFAULTS["unstake_cooldown"]
    assert unix(w["ready_at"]) - unix(w["requested_at"]) == cooldown
    assert unix(w["expires_at"]) - unix(w["requested_at"]) == 2 * cooldown
    text = cli("provider", "status", "-k", ppath, "--api", "http://127.0.0.1:9").stdout
    line = next(l for l in text.splitlines() if l.startswith("unstake requested"))
    assert line.startswith("unstake requested 1.500000 tokens at ")
    assert f"from {local_time(unix(w['ready_at']))} until {local_time(unix(w['expires_at']))}" in line
