"""Commands loaded by name: a click group that lists some of its commands from a table (name, module, attribute,
one-line help) and imports a command's module only when that command runs (or its own --help is asked for).

The root (solmeter/cli.py GROUPS) mounts the command groups this way, and a group mounts its heavy commands the
same way (`meter serve` and the meter's database commands, `operator serve`: the meter's API, SQLAlchemy), so
that listing a group's commands (`solmeter meter --help`) imports none of them. Every command that a lazy group
resolves gets the global --output option (contracts/cli_output.py), wherever it sits in the tree."""
from __future__ import annotations

import importlib
from typing import Any, Sequence

import click
import typer
import typer.main
from typer.core import TyperGroup

# (command name, module, attribute, one-line help): the attribute is a typer.Typer (a group) or a function
# (one command). The help is repeated so that listing imports nothing (tests/cli checks it is the command's own).
Entry = tuple[str, str, str, str]


def load(name: str, module: str, attr: str) -> click.Command | None:
    """The click group (or single command) `attr` of `module`, imported now, named `name`; None when that capability
    is not part of this build (its package is not installed)."""
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as e:
        if e.name in (module, module.rsplit(".", 1)[0]):
            return None
        raise
    obj = getattr(mod, attr)
    if isinstance(obj, typer.Typer):
        cmd: click.Command = typer.main.get_group(obj)
    else:  # a function: one command of its own (shell completion is the root's business, which has none)
        one = typer.Typer(add_completion=False)
        one.command(name)(obj)
        cmd = typer.main.get_command(one)
    cmd.name = name
    one_line_summaries(cmd)
    return cmd


def summary(help_text: str) -> str:
    """A command's line in its group's command list: the first paragraph of its help with the docstring's line
    breaks joined (typer's rich listing keeps them, cutting descriptions mid-sentence); a paragraph marked
    "\b" (no rewrapping) is kept as written."""
    first = help_text.strip().split("\n\n", 1)[0]
    return first if first.startswith("\b") else " ".join(first.split())


def one_line_summaries(cmd: click.Command) -> None:
    """Sets the listed summary (short_help) of `cmd` and of every command under it that has none, nested groups
    included (a lazy command not loaded yet is listed with its table's summary instead)."""
    if cmd.short_help is None and cmd.help:
        cmd.short_help = summary(cmd.help)
    for sub in getattr(cmd, "commands", {}).values():
        one_line_summaries(sub)


class LazyGroup(TyperGroup):
    """A group whose `LAZY` commands are listed from their table and imported only when one is resolved; they are
    listed after the group's own command named `AFTER` (at the end when None)."""

    LAZY: dict[str, tuple[str, str, str]] = {}
    AFTER: str | None = None

    def list_commands(self, ctx: click.Context) -> list[str]:
        own = list(super().list_commands(ctx))
        lazy = [n for n in self.LAZY if n not in own]
        at = own.index(self.AFTER) + 1 if self.AFTER in own else len(own)
        return own[:at] + lazy + own[at:]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands or cmd_name not in self.LAZY:
            return super().get_command(ctx, cmd_name)
        help_ = self.LAZY[cmd_name][2]
        # For listing (--help) only: resolve_command loads the real command before anything runs.
        return click.Command(cmd_name, help=help_, short_help=help_)

    def resolve_command(self, ctx: click.Context, args: list[str]) -> tuple[str | None, click.Command | None,
                                                                           list[str]]:
        if args and args[0] in self.LAZY and args[0] not in self.commands:
            module, attr, _ = self.LAZY[args[0]]
            cmd = load(args[0], module, attr)
            if cmd is not None:
                self.commands[args[0]] = cmd
        name, found, rest = super().resolve_command(ctx, args)
        if found is not None:  # every leaf takes --output json|text (contracts/cli_output.py), one implementation
            from contracts.cli_output import add_output_option  # local: `solmeter --help` imports no contracts

            add_output_option(found)
        return name, found, rest


def lazy_group(entries: Sequence[Entry], after: str | None = None) -> type[LazyGroup]:
    """The group class (typer.Typer(cls=...)) that mounts `entries` lazily, listed after its own command `after`."""
    table: dict[str, tuple[str, str, str]] = {name: (module, attr, help_) for name, module, attr, help_ in entries}
    attrs: dict[str, Any] = {"LAZY": table, "AFTER": after}
    return type("LazyGroup", (LazyGroup,), attrs)
