"""The console command: every group has help, errors are one line, global flags reach the settings."""
import os
import subprocess
import sys

import click
import pytest
import typer
from typer.testing import CliRunner

from solmeter.cli import main
from solmeter.flags import GlobalFlags


def run(*args, env=None):
    return subprocess.run([sys.executable, "-m", "solmeter.cli", *args], capture_output=True, text=True, env=env)


def test_help_lists_commands():
    r = run("--help")
    assert r.returncode == 0
    for group in ("config", "keys"):
        assert group in r.stdout


def test_help_imports_no_command_group():
    """The root lists its groups from solmeter.cli.GROUPS without importing them (start-up speed:
    `solmeter --help` costs typer alone); every group is still listed."""
    code = ("import sys; from solmeter.cli import main, GROUPS\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "mods = {m.split('.')[0] for m in sys.modules}\n"
            "print(sorted(mods & {'contracts', 'chain', 'localnet', 'metering', 'ledger', 'auditor', 'solders', "
            "'pydantic'}))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "[]"
    listed = run("--help").stdout
    from solmeter.cli import GROUPS
    for name, *_ in GROUPS:
        assert f" {name} " in listed


def test_the_listed_help_is_each_groups_own():
    import importlib
    from solmeter.cli import GROUPS
    for name, module, attr, help_ in GROUPS:
        obj = getattr(importlib.import_module(module), attr)
        own = obj.info.help if hasattr(obj, "info") else obj.__doc__.strip().splitlines()[0]
        assert own == help_, name


def _groups_listed():
    """Every group of the tree as the root resolves it (the lazy groups loaded as a user runs them), with its path."""
    import typer.main

    from solmeter.cli import app

    root = typer.main.get_command(app)
    ctx = root.make_context("solmeter", ["config"], resilient_parsing=True)
    todo, out = [((), root)], []
    while todo:
        path, grp = todo.pop()
        out.append((path, grp))
        for name in grp.list_commands(ctx):
            _, cmd, _ = grp.resolve_command(ctx, [name])
            if hasattr(cmd, "commands"):  # a group (typer's own click, not the click package's Group)
                todo.append((path + (name,), cmd))
    return out, ctx


def test_every_listed_command_summary_is_one_paragraph_without_the_docstrings_line_breaks():
    """typer's rich command list keeps a docstring's line breaks, which cut a description mid-sentence
    (`audit --help`: "the inclusion" / "proof against ..."); each command's listed summary is its first
    paragraph joined (solmeter/lazy.py one_line_summaries)."""
    groups, ctx = _groups_listed()
    assert len(groups) > 10
    for path, grp in groups:
        for name in grp.list_commands(ctx):
            cmd = grp.get_command(ctx, name)
            listed = cmd.short_help or cmd.help or ""
            assert "\n" not in listed.split("\n\n")[0], (path, name, listed)
    r = run("audit", "--help", env={**os.environ, "COLUMNS": "250"})
    assert r.returncode == 0
    assert "the inclusion proof against the on-chain batch root" in r.stdout, r.stdout


def test_a_lazy_group_runs_and_its_help_is_its_own():
    r = run("localnet", "--help")
    assert r.returncode == 0 and "start" in r.stdout and "reset" in r.stdout


def test_error_is_one_line_without_traceback(tmp_path):
    r = run("keys", "show", str(tmp_path / "missing.json"))
    assert r.returncode == 1
    assert r.stderr.strip() == f"error: keypair file {tmp_path / 'missing.json'}: does not exist"


def test_a_library_error_base_is_one_line_too(monkeypatch, capsys):
    """The auditor's errors are its own (not SolmeterError: a library imports no application code); the
    root still prints them as one line, without the type name or the SOLMETER_DEBUG hint."""
    import solmeter.cli
    from auditor.errors import ChainReadError

    def boom(**_kw):
        raise ChainReadError("the node at http://x answered 502")

    monkeypatch.setattr(solmeter.cli, "app", boom)
    assert main([]) == 1
    assert capsys.readouterr().err == "error: the node at http://x answered 502\n"


def test_global_flags_reach_settings(isolated_env, capsys, monkeypatch):
    for var in ("SOLMETER_RPC_URL", "SOLMETER_DATA_DIR"):  # so that teardown removes what the flags export
        monkeypatch.setenv(var, "")
        monkeypatch.delenv(var)
    assert main(["--url", "devnet", "--data-dir", str(isolated_env / "d"), "config", "show", "--json"]) == 0
    out = capsys.readouterr().out
    assert '"resolved_rpc_url": "https://api.devnet.solana.com"' in out
    assert str(isolated_env / "d") in out


def test_keys_new_then_show(tmp_path, capsys):
    p = tmp_path / "id.json"
    assert main(["keys", "new", str(p)]) == 0
    pub = capsys.readouterr().out.strip()
    assert main(["keys", "show", str(p)]) == 0
    assert capsys.readouterr().out.strip() == pub
    assert main(["keys", "new", str(p)]) == 1
    assert "already exists" in capsys.readouterr().err


def test_exit_codes_of_subcommands_reach_the_shell(tmp_path):
    # A command that ends with typer.Exit(1) must make the process exit 1, not 0.
    r = run("keys", "new", str(tmp_path / "k.json"))
    assert r.returncode == 0
    r = run("--config", str(tmp_path / "missing.toml"), "config", "show")
    assert r.returncode == 1 and "does not exist" in r.stderr


def test_a_closed_pipe_is_not_an_error():
    """`solmeter ... | head`: the reader closed its end before we wrote; no traceback, no BrokenPipeError."""
    import os
    r, w = os.pipe()
    os.close(r)  # closed before the command starts: its first write fails, deterministically
    try:
        p = subprocess.run([sys.executable, "-m", "solmeter.cli", "--help"], stdout=w, stderr=subprocess.PIPE,
                           text=True, timeout=60)
    finally:
        os.close(w)
    assert p.returncode in (1, 141)  # click's own EPIPE exit, or ours for a write outside click's main
    assert p.stderr == ""


def test_global_flags_travel_on_the_context_not_the_environment(isolated_env, capsys):
    """The root puts its flags on the click context; nothing is exported, so one command's flags cannot
    reach the next command run in the same process."""
    exported_before = {k: v for k, v in os.environ.items() if k.startswith("SOLMETER_")}  # the harness's own
    d = isolated_env / "flagged"
    assert main(["--url", "devnet", "--data-dir", str(d), "--database-url", "sqlite:///x.db", "config", "show",
                 "--json"]) == 0
    assert '"resolved_rpc_url": "https://api.devnet.solana.com"' in capsys.readouterr().out
    assert {k: v for k, v in os.environ.items() if k.startswith("SOLMETER_")} == exported_before
    assert main(["config", "show", "--json"]) == 0
    out = capsys.readouterr().out
    assert '"rpc_url": "localnet"' in out and str(d) not in out


def test_the_data_dir_flag_finds_its_config_toml(isolated_env, capsys):
    d = isolated_env / "dd"
    d.mkdir()
    (d / "config.toml").write_text("api_port = 9011\n")
    assert main(["--data-dir", str(d), "config", "show", "--json"]) == 0
    assert '"api_port": "9011"' in capsys.readouterr().out


def test_a_commands_own_url_replaces_the_global_flag_for_that_command_only(isolated_env):
    from solmeter.commands.common import settings
    from solmeter.commands.deploy import use_url

    seen = []
    app = typer.Typer()

    @app.command()
    def probe() -> None:
        use_url("https://api.testnet.solana.com")
        seen.append(settings().resolved_rpc_url)

    @app.command()
    def other() -> None:
        seen.append(settings().resolved_rpc_url)

    runner = CliRunner()
    assert runner.invoke(app, ["probe"], obj=GlobalFlags(url="devnet")).exit_code == 0
    assert runner.invoke(app, ["other"], obj=GlobalFlags(url="devnet")).exit_code == 0
    assert seen == ["https://api.testnet.solana.com", "https://api.devnet.solana.com"]


# The service's heavy modules: the meter's API (FastAPI, Starlette, uvicorn) and the dashboard; the meter's group
# and the demo also list their commands / options without the database (SQLAlchemy, Alembic).
HEAVY = {"fastapi", "starlette", "uvicorn", "metering.api", "dashboard"}
HEAVY_FOR = {"meter": HEAVY | {"sqlalchemy", "alembic", "metering.service"},
             "demo": HEAVY | {"sqlalchemy", "alembic", "localnet", "ledger", "solmeter.demo"},
             # the agent parses bodies with metering.ingest.parse, not with the meter's ingest service
             "agent": HEAVY | {"metering.ingest.service"}}


def test_a_groups_help_imports_none_of_its_heavy_commands():
    """`solmeter GROUP --help` lists the group's commands without importing the heavy ones (solmeter/lazy.py):
    `meter serve`, the meter's database commands and `operator serve|prices` are loaded by name when they run,
    `demo` loads the demo when it runs."""
    from solmeter.cli import GROUPS
    code = ("import sys; from solmeter.cli import main\n"
            "try:\n    main([sys.argv[1], '--help'])\nexcept SystemExit:\n    pass\n"
            "print('\\n' + ' '.join(sorted(sys.modules)))")
    for name, *_ in GROUPS:
        r = subprocess.run([sys.executable, "-c", code, name], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        loaded = set(r.stdout.splitlines()[-1].split())
        assert not loaded & HEAVY_FOR.get(name, HEAVY), name


def _lazy_tables(cmd, path=()):
    """(path, table) of every lazy group under `cmd`, the lazy commands loaded as the group resolves them."""
    from solmeter.lazy import LazyGroup
    if isinstance(cmd, LazyGroup):
        yield path, cmd.LAZY
    if isinstance(getattr(cmd, "commands", None), dict):
        ctx = cmd.make_context(path[-1] if path else "solmeter", [], resilient_parsing=True)
        for name in cmd.list_commands(ctx):
            yield from _lazy_tables(cmd.resolve_command(ctx, [name])[1], (*path, name))


def test_every_lazy_commands_listed_help_is_its_own():
    """A lazy command's help is repeated in its group's table (so that listing imports nothing): it must be the
    first paragraph of the command's own help."""
    import inspect

    import typer.main
    from solmeter.cli import app
    from solmeter.lazy import load

    tables = list(_lazy_tables(typer.main.get_command(app)))
    assert {p for p, _ in tables} >= {(), ("meter",), ("operator",)}
    for path, table in tables:
        for name, (module, attr, help_) in table.items():
            own = load(name, module, attr).help
            first = " ".join(line.strip() for line in inspect.cleandoc(own).split("\n\n")[0].splitlines())
            assert help_ == first, (*path, name)


def test_lazy_leaves_take_the_output_flag_before_or_after_the_group(isolated_env):
    """`solmeter --output json meter ...` and `solmeter meter ... --output json`: the same mode, lazy leaf or not."""
    import typer.main
    from solmeter.cli import app

    root = typer.main.get_command(app)
    for args in (["--output", "json", "meter", "prices", "show"], ["meter", "prices", "show", "--output", "json"],
                 ["--output", "json", "operator", "serve", "--help"], ["operator", "serve", "--output", "json"]):
        ctx = root.make_context("solmeter", list(args), resilient_parsing=True)
        sub = ctx
        while isinstance(sub.command, click.Group) and sub.protected_args + sub.args:
            name, cmd, rest = sub.command.resolve_command(sub, [*sub.protected_args, *sub.args])
            sub = cmd.make_context(name, rest, parent=sub, resilient_parsing=True)
        opts = [p for p in sub.command.params if "--output" in getattr(p, "opts", ())]
        assert len(opts) == 1, args


def test_a_closed_pipe_inside_a_command_is_not_an_error_line_either(capsys):
    """`solmeter operator intents list | head`: the reader left while a command was writing; the command's
    one-line error handler lets it through to main, which stops quietly (was `error: BrokenPipeError: ...`)."""
    from solmeter.commands.common import one_line_errors

    @one_line_errors
    def lister():
        raise BrokenPipeError(32, "Broken pipe")

    with pytest.raises(BrokenPipeError):
        lister()
    assert capsys.readouterr().err == ""
