"""`solmeter meter ...`: run the meter (API + jobs) and administer it from the command line.

Every command is loaded by name from solmeter/commands/meter_commands.py (solmeter/lazy.py): they import the
meter's API (FastAPI), its jobs and the database (SQLAlchemy, Alembic), which listing them (`solmeter meter
--help`) does not need."""
from __future__ import annotations

import typer

from solmeter.lazy import lazy_group

_COMMANDS = "solmeter.commands.meter_commands"
# (name, module, attribute, one-line help): the help is the command's own (tests/cli checks it)
COMMANDS = [
    ("serve", _COMMANDS, "serve",
     "Run the meter API (ingest + read API + /metrics + /docs) and its sealing and batching jobs."),
    ("migrate", _COMMANDS, "migrate", "Create or upgrade the database schema (Alembic)."),
    ("seal", _COMMANDS, "seal", "Seal every window that is due now, issue receipts, and optionally close a batch."),
    ("receipts", _COMMANDS, "receipts", "List receipts of a customer, a provider or a channel."),
    ("usage", _COMMANDS, "usage", "Live usage of a customer over the last minutes (not yet sealed usage included)."),
    ("providers", _COMMANDS, "providers_app", "Which provider keys may report usage."),
    ("customers", _COMMANDS, "customers_app", "Customer flags (paused)."),
    ("prices", _COMMANDS, "prices_app", "The versioned price book."),
]

app = typer.Typer(help="The metering service: signed usage ingestion, receipts, Merkle batches, read API.",
                  no_args_is_help=True, cls=lazy_group(COMMANDS))
