"""Refresh the committed cluster feature sets (localnet/features/clusters.json) from the Solana Explorer's
feature-gate list (repository solana-foundation/explorer, file app/entities/feature-gate/feature-gates.json,
filled from each cluster's feature accounts).

    python -m localnet.features.refresh FEATURE_GATES_JSON --commit SHA --commit-date YYYY-MM-DD

FEATURE_GATES_JSON is a local copy of that file (this tool does no network I/O: fetch the file with git or a
browser first). For every gate in the list the output records its activation epoch on devnet and mainnet
(null: not active there); gates the list does not name keep solders' mainnet setting when loaded
(see localnet/features/__init__.py)."""
from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

from . import CLUSTERS_JSON, SOURCE_PATH, SOURCE_REPO


def derive(gates: list[dict], commit: str, commit_date: str, today: str) -> dict:
    rows = sorted(gates, key=lambda g: g["key"])
    return {
        "source": {"repository": SOURCE_REPO, "path": SOURCE_PATH, "commit": commit, "commit_date": commit_date},
        "derived": today,
        "note": "activation epoch per cluster (null: inactive there); gates not listed keep solders' mainnet set",
        "gates": [{"key": g["key"], "title": g.get("title", ""), "devnet": g.get("devnet_activation_epoch"),
                   "mainnet": g.get("mainnet_activation_epoch")} for g in rows],
    }


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m localnet.features.refresh", description=__doc__.split("\n\n")[0])
    ap.add_argument("source", type=Path, help="a local copy of feature-gates.json")
    ap.add_argument("--commit", required=True, help="the explorer commit the copy is from")
    ap.add_argument("--commit-date", required=True, help="that commit's date (YYYY-MM-DD)")
    ap.add_argument("--out", type=Path, default=CLUSTERS_JSON)
    a = ap.parse_args(argv)
    try:
        gates = json.loads(a.source.read_text())
    except (OSError, ValueError) as e:
        print(f"cannot read {a.source}: {e}", file=sys.stderr)
        return 1
    if not isinstance(gates, list) or not all(isinstance(g, dict) and "key" in g for g in gates):
        print(f"{a.source} is not the explorer's feature-gate list (a JSON array of gates with a key)", file=sys.stderr)
        return 1
    out = derive(gates, a.commit, a.commit_date, dt.date.today().isoformat())
    a.out.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {a.out}: {len(out['gates'])} gates")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
