"""One output implementation for the whole command tree: every leaf takes --output json|text, a command
without a structured result streams JSON Lines, an old --json flag is an alias; destructive and money-moving
commands refuse without -y when stdin is not a terminal; times and amounts have one format."""
from __future__ import annotations

import json
import os
import sys

import pytest
from typer.testing import CliRunner

from solmeter.cli import GROUPS, app, load_group


def _leaves(cmd, path: tuple[str, ...] = ()):
    if isinstance(getattr(cmd, "commands", None), dict):  # a group: its commands as it resolves them (lazy ones too)
        ctx = cmd.make_context(path[-1], [], resilient_parsing=True)
        for name in cmd.list_commands(ctx):
            _, sub, _ = cmd.resolve_command(ctx, [name])
            yield from _leaves(sub, (*path, name))
    else:
        yield path, cmd


def _tree() -> list:
    """Every leaf command as the root resolves it (the lazy groups loaded through the root, as a user runs them)."""
    import typer.main

    root = typer.main.get_command(app)
    ctx = root.make_context("solmeter", ["config"], resilient_parsing=True)
    out = []
    for name in root.list_commands(ctx):
        _, cmd, _ = root.resolve_command(ctx, [name])
        if cmd is not None:
            out.extend(_leaves(cmd, (name,)))
    return out


def test_every_leaf_command_accepts_output_json():
    leaves = _tree()
    assert len(leaves) > 40  # the whole tree, not a part of it
    names = {" ".join(p) for p, _ in leaves}
    for must in ("customer deposit", "provider claim", "operator jobs", "audit all", "airdrop", "keys new",
                 "localnet reset", "customer lease sign", "operator buffers close", "meter serve"):
        assert must in names
    missing = []
    for path, cmd in leaves:
        opts = [p for p in cmd.params if "--output" in getattr(p, "opts", ())]
        if len(opts) != 1:
            missing.append(" ".join(path))
            continue
        # it parses: `--output json` is accepted by the command's own parser and sets the mode
        ctx = cmd.make_context(path[-1], ["--output", "json"], resilient_parsing=True)
        assert ctx.find_root().meta.get("solmeter.output") == "json", path
    assert not missing, f"commands without --output json|text: {missing}"


@pytest.fixture
def runner(isolated_env, monkeypatch):
    monkeypatch.setenv("SOLMETER_DATA_DIR", str(isolated_env / "data"))
    return CliRunner()


def test_a_command_without_a_result_streams_json_lines(runner, tmp_path):
    p = tmp_path / "k.json"
    res = runner.invoke(app, ["keys", "new", str(p), "--output", "json"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    lines = [json.loads(line) for line in res.stdout.splitlines()]
    assert len(lines) == 1 and len(lines[0]["message"]) >= 32
    res = runner.invoke(app, ["keys", "show", str(p)], catch_exceptions=False)
    assert res.stdout.strip() == lines[0]["message"]  # text stays text: the mode does not leak between runs


def test_the_root_option_and_the_old_json_flag_are_aliases(runner):
    by_root = runner.invoke(app, ["--output", "json", "config", "show"], catch_exceptions=False)
    by_leaf = runner.invoke(app, ["config", "show", "--output", "json"], catch_exceptions=False)
    by_flag = runner.invoke(app, ["config", "show", "--json"], catch_exceptions=False)
    assert by_root.exit_code == by_leaf.exit_code == by_flag.exit_code == 0
    assert json.loads(by_root.stdout) == json.loads(by_leaf.stdout) == json.loads(by_flag.stdout)
    text = runner.invoke(app, ["config", "show"], catch_exceptions=False).stdout
    with pytest.raises(ValueError):
        json.loads(text)


def test_a_bad_output_value_is_refused_in_one_line(runner):
    res = runner.invoke(app, ["config", "show", "--output", "yaml"])
    assert res.exit_code == 2 and "yaml" in res.output and "text" in res.output and "json" in res.output


@pytest.mark.parametrize("args", [
    ("customer", "deposit", "1"), ("customer", "withdraw"), ("customer", "request-withdrawal", "1"),
    ("provider", "stake", "1"), ("provider", "request-unstake", "1"), ("provider", "withdraw-stake"),
    ("provider", "claim", "--epoch", "0"), ("operator", "fees", "--fee-bps", "10"),
    ("customer", "lease", "revoke", "x"),
    ("operator", "set-treasury", "11111111111111111111111111111111"),
    ("operator", "propose-slash", "11111111111111111111111111111111", "--amount", "1", "--evidence", "x"),
    ("operator", "execute-slash", "11111111111111111111111111111111", "0"),
    ("operator", "fund-epoch", "1"), ("operator", "buffers", "close", "--all"), ("operator", "upgrade"),
    ("customer", "auto-top-up", "--threshold", "1", "--amount", "1", "--allowance", "2"),
    ("operator", "resolve-slash", "11111111111111111111111111111111", "0", "--uphold"),
])
def test_money_moving_commands_have_yes(args):
    """Each destructive or money-moving command has -y/--yes (the refusal itself is checked against the
    localnet in tests/ledger/test_cli_output_localnet.py)."""
    cmd = dict((" ".join(p), c) for p, c in _tree())[" ".join(a for a in args if not a.startswith("-") and
                                                            a not in ("1", "0", "2", "x", "10")
                                                            and not a.startswith("1111"))]
    yes = [p for p in cmd.params if "--yes" in getattr(p, "opts", ())]
    assert yes and "-y" in yes[0].opts


def test_confirm_refuses_without_a_terminal_and_asks_on_one(tmp_path):
    """Without -y and without a terminal: one line saying to pass -y. On a terminal: asked, and only "y" goes on."""
    import pty
    import subprocess

    code = ("import typer, click\nfrom contracts.cli_output import confirm\n"
            "def main(yes: bool = typer.Option(False, '-y')):\n    confirm(yes, 'deposit 1.000000 tokens')\n"
            "    print('SENT')\ntyper.run(main)\n")
    f = tmp_path / "c.py"
    f.write_text(code)
    r = subprocess.run([sys.executable, str(f)], stdin=subprocess.DEVNULL, capture_output=True, text=True)
    assert r.returncode == 1 and "SENT" not in r.stdout
    assert r.stderr.strip().splitlines() == ["error: not confirmed: deposit 1.000000 tokens; stdin is not a "
                                             "terminal, pass -y (--yes) to confirm"]
    r = subprocess.run([sys.executable, str(f), "-y"], stdin=subprocess.DEVNULL, capture_output=True, text=True)
    assert r.returncode == 0 and "SENT" in r.stdout
    for answer, sent in ((b"n\n", False), (b"y\n", True)):
        master, slave = pty.openpty()
        p = subprocess.Popen([sys.executable, str(f)], stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        os.close(slave)
        os.write(master, answer)
        out, err = p.communicate(timeout=60)
        os.close(master)
        assert (b"SENT" in out) is sent and (p.returncode == 0) is sent
        assert b"deposit 1.000000 tokens. Continue?" in err


def test_times_and_amounts_have_one_format(monkeypatch):
    import time

    from contracts.amounts import tokens
    from contracts.cli_output import amount_fields, iso_utc, local_time

    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    try:
        assert local_time(0) == "1970-01-01 05:30:00 +0530"
        assert local_time(1_500, "ms") == "1970-01-01 05:30:01 +0530"
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    assert iso_utc(0) == "1970-01-01T00:00:00Z" and iso_utc(1_500, "ms") == "1970-01-01T00:00:01.500Z"
    assert tokens(25_500_000, 6) == "25.500000" and tokens(-1, 6) == "-0.000001" and tokens(7, 0) == "7"
    assert amount_fields("amount", 25_500_000, 6) == {"amount": 25_500_000, "amount_tokens": "25.500000"}


def test_every_group_loads():
    for name, *_ in GROUPS:
        assert load_group(name) is not None


def test_a_receipt_line_shows_the_whole_id_in_tokens_and_local_time():
    """What `customer receipts` and `meter receipts` print: the whole id, so `audit receipt` takes it as is."""
    from contracts.cli_output import local_time
    from solmeter.commands.render import receipt_line

    rid = "ab" * 32
    v = {"receipt_id": rid, "customer": "C" * 44, "provider": "P" * 44, "seq": 7, "period_start": 1_800_000_000,
         "period_end": 1_800_000_060, "cum_amount": 2_500_000, "new_amount": 41_666, "batch": {"id": 3}}
    line = receipt_line(v, 6)
    assert line.split()[0] == rid
    assert f"period {local_time(1_800_000_000)} .. {local_time(1_800_000_060)}" in line
    assert "cumulative 2.500000 tokens (+0.041666 tokens) batch 3" in line
    assert "cumulative 2500000 base units" in receipt_line(v)  # the meter's own command knows no decimals


def test_a_withdrawal_outside_its_window_says_when_in_one_line():
    from solmeter.commands.common import require_window

    args = ("the withdrawal of 1.000000 tokens", "solmeter customer withdraw", "solmeter customer request-withdrawal AMOUNT",
            "WithdrawalDelayNotElapsed", "WithdrawalRequestExpired")
    require_window(None, 50, *args)  # nothing requested: the caller says so
    for now in (200, 250, 300):  # both ends are inside, as the program has it
        require_window((100, 200, 300), now, *args)
    with pytest.raises(ValueError, match=r"^the withdrawal of 1.000000 tokens is not ready yet "
                                         r"\(WithdrawalDelayNotElapsed\): run `solmeter customer withdraw` from "):
        require_window((100, 200, 300), 199, *args)
    with pytest.raises(ValueError, match=r"expired at .* \(WithdrawalRequestExpired\): request it again with "
                                         r"`solmeter customer request-withdrawal AMOUNT`$"):
        require_window((100, 200, 300), 301, *args)
