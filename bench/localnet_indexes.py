"""getProgramAccounts in the localnet: its own owner index (a set of keys per owner, each account read with
get_account) against solders 0.29's LiteSVM.get_program_accounts (a scan inside the SVM's account store).

    .venv/bin/python bench/localnet_indexes.py [--accounts 20000] [--small 100] [--runs 5]

A bank holds `accounts` accounts of one program and `small` of another (the billing program's case: few
accounts among many token accounts); both ways list each program. Median of `runs`, ratio own/LiteSVM."""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from solders.account import Account  # noqa: E402
from solders.pubkey import Pubkey  # noqa: E402

from localnet.bank import Bank  # noqa: E402
from localnet.genesis import GenesisConfig  # noqa: E402


def own(bank: Bank, owner: Pubkey) -> int:
    n = 0
    for key in sorted(bank.owner_index.get(str(owner), ())):
        if bank.get_account(Pubkey.from_string(key)) is not None:
            n += 1
    return n


def litesvm(bank: Bank, owner: Pubkey) -> int:
    return len(sorted(bank.svm.get_program_accounts(owner), key=lambda kv: str(kv[0])))


def timed(fn, *args) -> float:
    t0 = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--accounts", type=int, default=20_000)
    ap.add_argument("--small", type=int, default=100)
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    bank = Bank(GenesisConfig())
    big, small = Pubkey.new_unique(), Pubkey.new_unique()
    for owner, n in ((big, a.accounts), (small, a.small)):
        for _ in range(n):
            bank.set_account(Pubkey.new_unique(), Account(10**7, bytes(165), owner, False, 0))
    assert own(bank, big) == litesvm(bank, big) == a.accounts and own(bank, small) == litesvm(bank, small)
    for name, owner, n in (("large program", big, a.accounts), ("small program", small, a.small)):
        o = statistics.median(timed(own, bank, owner) for _ in range(a.runs))
        s = statistics.median(timed(litesvm, bank, owner) for _ in range(a.runs))
        print(f"{name} ({n} of {a.accounts + a.small} accounts): own index {o * 1e3:8.2f} ms, "
              f"LiteSVM.get_program_accounts {s * 1e3:8.2f} ms, own/LiteSVM {o / s:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
