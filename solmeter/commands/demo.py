"""`solmeter demo`: run the end-to-end demonstration (embedded localnet, SQLite, simulated hours)."""
from __future__ import annotations

import json
import signal
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(help="Run the end-to-end demo: deploy, 3 providers, 5 customers, a few simulated hours.",
                  invoke_without_command=True)


@app.callback()
def demo(ctx: typer.Context,
         hours: float = typer.Option(3.0, min=1.0, max=24.0, help="Simulated hours of usage."),
         workdir: Optional[Path] = typer.Option(None, help="Keep the localnet ledger and SQLite here "
                                                           "(default: a new temporary directory)."),
         as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
         serve: bool = typer.Option(False, "--serve", help="After the scenario, keep the meter, its dashboard "
                                                           "and the localnet serving until Ctrl-C or "
                                                           "SIGTERM.")) -> None:
    """Deploy on the embedded localnet and run GPU jobs and storage through the real agents and API."""
    if ctx.invoked_subcommand is not None:
        return
    from solmeter.demo import render, run_demo  # local: the whole demo (localnet, meter API, engine), not for --help

    shown = []

    def keep_serving(live) -> None:
        show(live.result)
        shown.append(True)
        api = live.url.removesuffix("/dashboard/")
        typer.echo(f"\ntry: solmeter -u {live.rpc_url} customer status -k {live.result.keys_dir}/customer-1.json "
                   f"--api {api}")
        typer.echo(f"dashboard: {live.url}  (localnet RPC {live.rpc_url}); serving until Ctrl-C")
        wait_for_stop_signal()
        typer.echo("stopping")

    def show(res) -> None:
        if as_json:
            typer.echo(json.dumps(asdict(res), indent=2))
        else:
            typer.echo("")
            typer.echo(render(res))

    try:
        res = run_demo(workdir, hours=hours, progress=(lambda m: None) if as_json else typer.echo,
                       serve=keep_serving if serve else None)
    except Exception as e:
        typer.echo(f"error: demo failed: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}", err=True)
        raise typer.Exit(1) from None
    if not shown:
        show(res)
    if not (res.reconcile_ok and res.audit_ok):
        raise typer.Exit(1)


def wait_for_stop_signal() -> None:
    """Blocks until SIGINT (Ctrl-C) or SIGTERM, as `localnet start` and `meter serve` stop on both.

    Own handlers rather than Python's KeyboardInterrupt: a process started in the background by a shell
    without job control inherits SIGINT ignored, and Python then never raises KeyboardInterrupt, so
    `kill -INT` and a supervisor's SIGTERM would neither reach the clean shutdown (ledger flush) nor stop it.
    The wait wakes twice a second because a signal may land on another thread (uvicorn's, the localnet's),
    which does not interrupt the main thread's blocking wait; its handler still runs at the next wake-up."""
    stop = threading.Event()
    previous = {s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not stop.wait(0.5):
            pass
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
