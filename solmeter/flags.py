"""The root's global flags (--config, --data-dir, --url, --keypair, --database-url) as one object. The root
callback puts it on the click context (`ctx.obj`); each command passes it to `load_settings(flags=...)`, where
the flags rank above the environment. Nothing is exported to os.environ. Cheap to import (no pydantic):
`solmeter --help` imports it."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

try:  # typer >= 0.2x carries its own copy of click, whose context stack its commands run on (as cli_output)
    from typer._click.globals import get_current_context
except ImportError:  # pragma: no cover - older typer on click itself
    from click import get_current_context


@dataclass
class GlobalFlags:
    config: Path | None = None
    data_dir: Path | None = None
    url: str | None = None
    keypair: Path | None = None
    database_url: str | None = None

    def overrides(self) -> dict[str, Any]:
        """The Settings fields these flags set (those given)."""
        given = {"data_dir": self.data_dir, "rpc_url": self.url, "keypair_path": self.keypair,
                 "database_url": self.database_url}
        return {k: v for k, v in given.items() if v is not None}


def current() -> GlobalFlags:
    """The global flags of the command running now: its root context's object (created empty when the command
    was invoked without the root, as a group's own app in tests; outside any command, an empty one)."""
    ctx = get_current_context(silent=True)
    if ctx is None:
        return GlobalFlags()
    return ctx.find_root().ensure_object(GlobalFlags)
