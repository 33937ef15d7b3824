"""How loud `operator serve` is. At the default level only what an operator acts on: a job that stops (one
WARNING per cause) or recovers, a sealed window, a reissue after a config change. The libraries' per-run and
per-call lines (APScheduler's "Running job ...", httpx's one line per JSON-RPC request, uvicorn's access log,
alembic's migration steps at each start) and the engine's per-run results appear only with -v (the engine's)
and -vv (everything)."""
from __future__ import annotations

import logging

# loggers that write a line per scheduler run, per HTTP call, or per migration step at each start, and the
# level each keeps at the default verbosity. APScheduler is only the engine's poll ticker (the job leases hold
# the schedule): its warnings that a poll was skipped because the previous run is still going, or ran late
# on a loaded machine, are expected and say nothing to act on, so only its errors are shown.
CHATTY = {"apscheduler": logging.ERROR, "httpx": logging.WARNING, "httpcore": logging.WARNING,
          "uvicorn.access": logging.WARNING, "alembic": logging.WARNING}
FORMAT = "%(asctime)s %(name)s %(levelname)s %(message)s"


def configure(verbosity: int = 0) -> str:
    """Set the levels for `verbosity` (0, 1 = -v, 2 = -vv); returns uvicorn's log level to match."""
    logging.basicConfig(level=logging.DEBUG if verbosity else logging.INFO, format=FORMAT, force=True)
    for name, quiet in CHATTY.items():
        logging.getLogger(name).setLevel(logging.DEBUG if verbosity >= 2 else quiet)
    return "info" if verbosity >= 2 else "warning"
