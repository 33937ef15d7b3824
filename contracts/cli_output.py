"""What every `solmeter` command's output shares, in one place (the bottom layer, so that every package's
command group can use it):

- `--output json|text` on every command: solmeter/cli.py adds the option to each leaf command of the tree
  (`add_output_option`) and to the root (`solmeter --output json ...`). A command with a structured result
  prints it with `emit` (one JSON document); a command that had `--json` keeps it as an alias (`--output json`
  sets its `as_json`); any other command (a build, a server, an agent loop) streams each line it prints as a
  JSON object `{"message": LINE}` (JSON Lines), so a machine reader never has to parse prose.
- amounts: tokens with the mint's decimals in text (`tokens`), base units (integers) plus the decimal string
  in JSON (`amount_fields`);
- times: local time in text (`local_time`), ISO-8601 UTC in JSON (`iso_utc`);
- transaction confirmations (`tx_done`): what was done, the amount, the signature and the Explorer link;
- confirmation of destructive or money-moving commands (`confirm`, with `-y/--yes`): asked on a terminal,
  refused in one line when stdin is not one and -y is not given.
"""
from __future__ import annotations

import datetime as _dt
import enum
import functools
import io
import json
import sys
from typing import Any, Callable, Optional

import typer
from typer.main import get_command

from contracts.amounts import tokens

try:  # typer >= 0.2x carries its own copy of click
    from typer._click.globals import get_current_context
except ImportError:  # pragma: no cover - older typer on click itself
    from click import get_current_context

MODE_KEY = "solmeter.output"
MODES = ("text", "json")
YES = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation (needed when stdin is not a terminal).")


# ---------------------------------------------------------------- the output mode

def _current_context() -> Any:
    return get_current_context(silent=True)


def use_mode(mode: str) -> None:
    """Set the output mode of the running invocation (the root's `solmeter --output json ...`)."""
    meta = _meta()
    if meta is not None:
        meta[MODE_KEY] = mode


def _meta() -> dict | None:
    ctx = _current_context()
    return ctx.find_root().meta if ctx is not None else None


class Output(str, enum.Enum):
    text = "text"
    json = "json"


def set_mode(ctx: typer.Context, value: Optional[Output]) -> Optional[Output]:
    """The --output option's callback: the mode is kept on the root context, so one invocation's choice never
    leaks into the next (tests run many in one process)."""
    if value is not None:
        ctx.find_root().meta[MODE_KEY] = value.value if isinstance(value, Output) else str(value)
    return value


def is_json(flag: bool = False) -> bool:
    """Whether this invocation prints JSON: `--output json` (on the command or the root) or the command's own
    `--json` flag."""
    meta = _meta()
    return bool(flag) or (meta is not None and meta.get(MODE_KEY) == "json")


def output_option() -> Any:
    """A fresh --output parameter, built by typer itself (so it is of whatever click typer runs on)."""
    one = typer.Typer()

    @one.command()
    def _probe(output: Optional[Output] = typer.Option(None, "--output", callback=set_mode, is_eager=True,
                                                       expose_value=False,
                                                       help="Output format: text (default) or json.")) -> None:
        """(only its parameter is used)"""

    return next(p for p in get_command(one).params if "--output" in getattr(p, "opts", ()))


def _json_default(o: Any) -> Any:
    if isinstance(o, bytes):
        return o.hex()
    if isinstance(o, _dt.datetime):
        return iso_utc(o)
    return str(o)


def dumps(data: Any) -> str:
    return json.dumps(data, indent=2, default=_json_default)


def emit(data: Any, text: Callable[[], None] | str | None = None, *, as_json: bool = False) -> None:
    """A command's result: JSON in json mode (--output json, or the command's --json: `as_json`) on the real
    stdout, past the JSON Lines wrapper; else `text` (a string, or a function that prints)."""
    if is_json(as_json):
        stream = _REAL_STDOUT[-1] if _REAL_STDOUT else None
        typer.echo(dumps(data), file=stream)
        return
    if callable(text):
        text()
    elif text is not None:
        typer.echo(text)


def say(message: str) -> None:
    """A progress or informational line: stdout in text mode, stderr in json mode (stdout is the JSON)."""
    typer.echo(message, err=is_json())


# ---------------------------------------------------------------- JSON Lines for commands without a result

_REAL_STDOUT: list[Any] = []


class _JsonLines(io.TextIOBase):
    """sys.stdout while a command without a structured result runs in json mode: each line it prints is
    written as {"message": LINE} at once (a server's or an agent's lines stream; nothing is held back)."""

    encoding = "utf-8"
    errors = "strict"

    def __init__(self, real: Any) -> None:
        super().__init__()
        self.real = real
        self.pending = ""

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def write(self, s: str) -> int:
        self.pending += s
        while "\n" in self.pending:
            line, self.pending = self.pending.split("\n", 1)
            self.real.write(json.dumps({"message": line}) + "\n")
        return len(s)

    def flush(self) -> None:
        self.real.flush()

    def close_line(self) -> None:
        if self.pending:
            self.write("\n")


def _wrap_callback(cmd: Any) -> None:
    orig = cmd.callback
    if orig is None or getattr(orig, "_solmeter_output", False):
        return

    @functools.wraps(orig)
    def callback(*args: Any, **kwargs: Any) -> Any:
        if not is_json():
            return orig(*args, **kwargs)
        if "as_json" in kwargs:  # the command's own --json: --output json is its alias
            kwargs["as_json"] = True
            return orig(*args, **kwargs)
        real = sys.stdout
        lines = _JsonLines(real)
        _REAL_STDOUT.append(real)
        sys.stdout = lines  # type: ignore[assignment]
        try:
            return orig(*args, **kwargs)
        finally:
            lines.close_line()
            sys.stdout = real
            _REAL_STDOUT.pop()

    callback._solmeter_output = True  # type: ignore[attr-defined]
    cmd.callback = callback


def add_output_option(cmd: Any) -> Any:
    """Give every leaf command under `cmd` the --output option (one implementation for the whole tree)."""
    if isinstance(getattr(cmd, "commands", None), dict):  # a group
        for sub in cmd.commands.values():
            add_output_option(sub)
        return cmd
    if not any("--output" in getattr(p, "opts", ()) for p in cmd.params):
        cmd.params.append(output_option())
    _wrap_callback(cmd)
    return cmd


# ---------------------------------------------------------------- amounts and times

def amount_fields(name: str, units: int | None, decimals: int) -> dict[str, Any]:
    """JSON of an amount: `name` in base units (an integer) and `name_tokens` as the exact decimal string."""
    if units is None:
        return {name: None, f"{name}_tokens": None}
    return {name: int(units), f"{name}_tokens": tokens(units, decimals)}


def _as_datetime(t: int | float | _dt.datetime, unit: str) -> _dt.datetime:
    if isinstance(t, _dt.datetime):
        return t if t.tzinfo else t.replace(tzinfo=_dt.timezone.utc)
    seconds = t / 1000 if unit == "ms" else t
    return _dt.datetime.fromtimestamp(seconds, _dt.timezone.utc)


def local_time(t: int | float | _dt.datetime | None, unit: str = "s") -> str:
    """A time for people: local time with its UTC offset ("2026-12-02 08:15:03 +0100"); `unit` "s" or "ms"."""
    if t is None:
        return "-"
    return _as_datetime(t, unit).astimezone().strftime("%Y-%m-%d %H:%M:%S %z")


def iso_utc(t: int | float | _dt.datetime | None, unit: str = "s") -> str | None:
    """A time for machines: ISO-8601 in UTC ("2026-12-02T07:15:03Z")."""
    if t is None:
        return None
    d = _as_datetime(t, unit).astimezone(_dt.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S") + (f".{d.microsecond // 1000:03d}" if d.microsecond else "") + "Z"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    s = int(seconds)
    if s < 120:
        return f"{s} s"
    if s < 7200:
        return f"{s // 60} min"
    if s < 172_800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86_400:.1f} days"


# ---------------------------------------------------------------- transactions

def tx_done(message: str, signature: object, explorer: str, *, cluster: str | None = None,
            amount: int | None = None, decimals: int | None = None, action: str | None = None,
            **extra: Any) -> None:
    """The confirmation of a transaction: `message` (with {amount} replaced by the amount in tokens), the
    signature and its Explorer link; in JSON the same with the amount in base units and as a decimal string."""
    amount_text = tokens(amount, decimals) + " tokens" if amount is not None and decimals is not None else ""
    data: dict[str, Any] = {"action": action, "signature": str(signature), "explorer": explorer, "cluster": cluster}
    if amount is not None and decimals is not None:
        data.update(amount_fields("amount", amount, decimals))
        data["decimals"] = decimals
    data.update(extra)

    def text() -> None:
        typer.echo(f"{message.format(amount=amount_text)}: transaction {signature}")
        typer.echo(f"  {explorer}")

    emit(data, text)


# ---------------------------------------------------------------- confirmation

def confirm(yes: bool, what: str) -> None:
    """Ask before a destructive or money-moving command (`what` says what it does, amount included). With -y,
    nothing is asked; without a terminal on stdin the command is refused in one line saying to pass -y."""
    if yes:
        return
    stdin = typer.get_text_stream("stdin")
    if not (hasattr(stdin, "isatty") and stdin.isatty()):
        typer.echo(f"error: not confirmed: {what}; stdin is not a terminal, pass -y (--yes) to confirm", err=True)
        raise typer.Exit(1)
    if not typer.confirm(f"{what}. Continue?", default=False, err=True):
        typer.echo("aborted: nothing was sent", err=True)
        raise typer.Exit(1)
