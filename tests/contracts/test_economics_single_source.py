"""contracts/economics.py is the only Python definition of the program's economic arithmetic: the
basis-point denominator, the fee/burn split, the reward pro rata and the epoch clock. This reads every
tracked Python source outside tests/ (code tokens only: docstrings, strings and comments do not count)
and fails on a second definition."""
from __future__ import annotations

import re
import tokenize

import pytest
from single_source import ROOT, logical_lines, tracked_sources

from contracts import economics

HOME = "contracts/economics.py"

# Copies tolerated for now (none left: the auditor's, the engine's and the demo's epoch arithmetic call
# economics.epoch_at / epoch_start). Each listed one must still be found (test_known_copies_are_still_there),
# so the list only shrinks.
KNOWN_COPIES: set[tuple[str, str]] = set()

_BPS = re.compile(r"bps|BPS", re.ASCII)
_DIV = {"/", "//", "/=", "//="}


def _is_ten_thousand(tok: str) -> bool:
    try:
        return int(tok.replace("_", ""), 0) == 10_000
    except ValueError:
        return tok.replace("_", "") in {"1e4", "10000.0"}


def copies(source: str) -> set[tuple[int, str]]:
    """(line, kind) of every logical line that computes what economics.py computes. kind is
    "denominator" (10 000 divided by or beside a basis-point name, or a *DENOMINATOR assignment), "split"
    (a basis-point name and a division), "pro_rata" (a revenue name and a division) or "epoch" (genesis_ts
    or epoch_length and a division or a multiplication)."""
    found: set[tuple[int, str]] = set()
    for line in logical_lines(source, frozenset({tokenize.NAME, tokenize.OP, tokenize.NUMBER})):
        found |= _classify(line)
    return found


def _classify(line: list[tokenize.TokenInfo]) -> set[tuple[int, str]]:
    if not line or line[0].string in {"def", "class", "async", "@"}:
        return set()  # a signature's bare * and its defaults compute nothing
    at = line[0].start[0]
    names = [t.string for t in line if t.type == tokenize.NAME]
    ops = [t.string for t in line if t.type == tokenize.OP]
    divides = any(o in _DIV for o in ops)
    out: set[tuple[int, str]] = set()
    for i, t in enumerate(line):
        if t.type == tokenize.NUMBER and _is_ten_thousand(t.string):
            near = {line[j].string for j in (i - 1, i + 1) if 0 <= j < len(line)}
            if near & _DIV or (divides and any(_BPS.search(n) for n in names)):
                out.add((at, "denominator"))
    tens = any(t.type == tokenize.NUMBER and _is_ten_thousand(t.string) for t in line)
    if "=" in ops and names and (names[0].upper().endswith("DENOMINATOR") or (tens and _BPS.search(names[0]))):
        out.add((at, "denominator"))
    if divides and any(_BPS.search(n) for n in names):
        out.add((at, "split"))
    if divides and any("revenue" in n.lower() for n in names):
        out.add((at, "pro_rata"))
    if any(n.endswith("genesis_ts") for n in names) and (divides or "*" in ops) or \
            (divides and any(n == "epoch_length" for n in names)):
        out.add((at, "epoch"))
    return out


def _found() -> set[tuple[str, str]]:
    return {(path, kind) for path, src in tracked_sources(HOME).items() for _, kind in copies(src)}


def test_no_second_definition_of_the_economics():
    extra = sorted(_found() - KNOWN_COPIES)
    assert not extra, (f"economic arithmetic outside {HOME} (use economics.split / BPS_DENOMINATOR / "
                       f"reward_share / epoch_at / epoch_start): {extra}")


def test_known_copies_are_still_there():
    gone = sorted(KNOWN_COPIES - _found())
    assert not gone, f"these copies are gone: delete them from KNOWN_COPIES: {gone}"


def test_the_home_module_is_what_the_detector_finds():
    """The detector recognises economics.py's own arithmetic, so a copy of it elsewhere is caught."""
    kinds = {k for _, k in copies((ROOT / HOME).read_text())}
    assert {"denominator", "split", "pro_rata"} <= kinds


@pytest.mark.parametrize("code,kind", [
    ("fee = amount * fee_bps // 10_000\n", "split"),
    ("fee = amount * cfg.fee_bps // DENOM\n", "split"),
    ("BPS = 10000\n", "denominator"),
    ("BASIS_DENOMINATOR = 10**4\n", "denominator"),
    ("share = x / 10_000\n", "denominator"),
    ("reward = pool * pe.revenue // total\n", "pro_rata"),
    ("current = (now - cfg.genesis_ts) // cfg.epoch_length\n", "epoch"),
    ("end = cfg.genesis_ts + (n + 1) * cfg.epoch_length\n", "epoch"),
])
def test_the_detector_catches_a_copy(code, kind):
    assert kind in {k for _, k in copies(code)}


@pytest.mark.parametrize("code", [
    "fee = 10_000  # two signatures at 5,000 lamports\n",
    "MAX_QUEUE = 10_000\n",
    "s = economics.split(amount, fee_bps, burn_bps)\n",
    'HELP = "fee = floor(amount * fee_bps / 10000)"\n',
    "# reward = pool * revenue // total\n",
    "n = economics.epoch_at(int(cfg.genesis_ts), int(cfg.epoch_length), now)\n",
])
def test_the_detector_leaves_other_code_alone(code):
    assert not copies(code)


def test_epoch_start_inverts_epoch_at():
    for g, length, n in [(0, 60, 0), (1_700_000_000, 86_400, 5), (123, 3_600, 1_000)]:
        start = economics.epoch_start(g, length, n)
        assert economics.epoch_at(g, length, start) == n
        assert economics.epoch_at(g, length, economics.epoch_start(g, length, n + 1) - 1) == n
    for bad in [(0, 0, 1), (0, 60, -1), (0, 60, True)]:
        with pytest.raises(economics.EconomicsError):
            economics.epoch_start(*bad)


def test_the_arguments_are_checked_by_name():
    for call, name in [(lambda: economics.reward_share(-1, 0, 0), "pool"),
                       (lambda: economics.reward_share(1, 1.5, 2), "revenue"),  # type: ignore[arg-type]
                       (lambda: economics.epoch_at(0, 0, 10), "epoch_length"),
                       (lambda: economics.split(True, 0, 0), "amount")]:
        with pytest.raises(economics.EconomicsError, match=name):
            call()


def test_request_window_is_the_programs_closed_interval():
    # withdraw.rs / withdraw_stake.rs: NotElapsed when t < at + delay, Expired when t > at + 2 x delay
    assert economics.request_window(1_000, 60) == (1_000, 1_060, 1_120)
    assert economics.request_window(5, 0) == (5, 5, 5)
    with pytest.raises(economics.EconomicsError):
        economics.request_window(1_000, -1)
