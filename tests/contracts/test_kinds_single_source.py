"""contracts/kinds.py is the only Python table of the usage event kinds: their numbers (what usage_events.kind
stores and the rollup breaks ties by), their names (metrics labels) and their CloudEvents types. This reads
every tracked Python source outside tests/ (code tokens; a docstring or comment does not count) and fails on
a second table: a kind's name beside a kind number in an assignment or a mapping, or a CloudEvents type
spelt out anywhere but a `Literal[...]` annotation (the pydantic models' tags, held equal to the enum here)."""
from __future__ import annotations

import tokenize
import typing

import pytest
from single_source import ROOT, logical_lines, tracked_sources

from contracts.kinds import EVENT_TYPE, KIND_OF_TYPE, Kind

HOME = "contracts/kinds.py"

_NAMES = {k.name for k in Kind}
_LABELS = {k.label for k in Kind}
_TYPES = set(EVENT_TYPE.values())


def _string_value(tok: str) -> str | None:
    try:
        v = eval(tok, {"__builtins__": {}})  # a plain string literal (f-strings are not constants: skipped)
    except Exception:
        return None
    return v if isinstance(v, str) else None


def copies(source: str) -> set[tuple[int, str]]:
    """(line, kind) of every logical line that restates the kind table: "number" (a kind's name, as an
    identifier or a string, and a number 1..4 in an assignment or a mapping) or "type" (a CloudEvents type
    string outside a Literal[...] annotation)."""
    found: set[tuple[int, str]] = set()
    for line in logical_lines(source, frozenset({tokenize.NAME, tokenize.OP, tokenize.NUMBER, tokenize.STRING})):
        found |= _classify(line)
    return found


def _is_kind_name(tok: tokenize.TokenInfo) -> bool:
    if tok.type == tokenize.NAME:
        return tok.string in _NAMES or tok.string in _LABELS
    v = _string_value(tok.string) if tok.type == tokenize.STRING else None
    return v is not None and (v in _NAMES or v in _LABELS)


def _classify(line: list[tokenize.TokenInfo]) -> set[tuple[int, str]]:
    if not line:
        return set()
    if len(line) == 1 and line[0].type == tokenize.STRING:
        return set()  # a docstring
    at = line[0].start[0]
    out: set[tuple[int, str]] = set()
    kind_number = {i for i, t in enumerate(line) if t.type == tokenize.NUMBER and t.string in {"1", "2", "3", "4"}}
    for i in kind_number:  # NAME = 1, "name": 1, 1: "name"
        for j, k in ((i - 2, i - 1), (i + 2, i + 1)):
            if 0 <= j < len(line) and line[k].string in {"=", ":"} and _is_kind_name(line[j]):
                out.add((at, "number"))
    eq = next((i for i, t in enumerate(line) if t.string == "="), None)
    if eq is not None and any(_is_kind_name(t) for t in line[:eq]) and kind_number \
            and all(t.string in {",", "(", ")"} or i in kind_number for i, t in enumerate(line[eq + 1:], eq + 1)):
        out.add((at, "number"))  # NAME, NAME, ... = 1, 2, ...
    strings = {v for t in line if t.type == tokenize.STRING and (v := _string_value(t.string)) is not None}
    if strings & _TYPES and not any(t.string == "Literal" for t in line):
        out.add((at, "type"))
    return out


def test_no_second_table_of_the_event_kinds():
    extra = sorted((path, line, kind) for path, src in tracked_sources(HOME).items()
                   for line, kind in copies(src))
    assert not extra, f"event kinds restated outside {HOME} (use contracts.kinds.Kind / EVENT_TYPE): {extra}"


def test_the_home_module_is_what_the_detector_finds():
    """The detector recognises kinds.py's own table, so a copy of it elsewhere is caught."""
    assert {k for _, k in copies((ROOT / HOME).read_text())} == {"number", "type"}


@pytest.mark.parametrize("code,kind", [
    ('TYPE_NAMES = {1: "gpu_heartbeat", 2: "gpu_stop", 3: "storage_sample", 4: "egress"}\n', "number"),
    ("GPU_HEARTBEAT, GPU_STOP, STORAGE_SAMPLE, EGRESS = 1, 2, 3, 4\n", "number"),
    ("    EGRESS = 4\n", "number"),
    ('label = {"EGRESS": 4}[k]\n', "number"),
    ('KINDS = dict(gpu_stop=2)\n', "number"),
    ('GPU_STOP_TYPE = "io.solmeter.gpu.lease.stop"\n', "type"),
    ('if typ == "io.solmeter.egress":\n    pass\n', "type"),
])
def test_the_detector_catches_a_copy(code, kind):
    assert kind in {k for _, k in copies(code)}


@pytest.mark.parametrize("code", [
    "m.accepted.labels(type=Kind(k).label).inc(n)\n",
    "kind, res, cls, val = Kind.GPU_HEARTBEAT, d.lease_id, d.gpu_class, d.gpu_count\n",
    'RECEIPT_FIELDS = {GPU_HEARTBEAT: ("cum_gpu_ms", U64), EGRESS: ("cum_egress_bytes", U64)}\n',
    '    type: Literal["io.solmeter.gpu.lease.heartbeat"]\n',
    '"""A gpu_heartbeat is kind 1 (io.solmeter.egress is 4)."""\n',
    "# GPU_HEARTBEAT = 1\n",
    'sums = {f: sum(ln.cumulative for ln in lines if ln.family == f) for f in ("gpu", "storage", "egress")}\n',
    "if family == GPU_HEARTBEAT and p[1] == GPU_STOP:\n    pass\n",
    'period = {("gpu", "H100"): 60_000 * 2, ("egress", "*"): (i + 1) << 20}\n',
])
def test_the_detector_leaves_other_code_alone(code):
    assert not copies(code)


def test_the_models_tags_are_the_enums_types():
    """The pydantic models spell the types out for the type checker: they must be the enum's, one per kind."""
    from metering.events import envelope

    tags = {typing.get_args(m.model_fields["type"].annotation)[0]
            for m in (envelope.GpuHeartbeatEvent, envelope.GpuStopEvent, envelope.StorageSampleEvent,
                      envelope.EgressEvent)}
    assert tags == _TYPES and envelope.EVENT_TYPES == tuple(EVENT_TYPE[k] for k in Kind)


def test_the_table_is_whole():
    assert [int(k) for k in Kind] == [1, 2, 3, 4]
    assert {k.label for k in Kind} == {"gpu_heartbeat", "gpu_stop", "storage_sample", "egress"}
    assert all(KIND_OF_TYPE[k.event_type] is k for k in Kind)
