"""The committed fixture objects are exactly what their committed sources assemble to."""
from __future__ import annotations

import make_fixtures
from toolchain_support import ASM


def test_generated_sources_are_committed():
    for name, text in make_fixtures.generated_sources().items():
        assert (ASM / name).read_text() == text, f"{name} is stale: run tests/toolchain/fixtures/make_fixtures.py"


def test_objects_match_their_sources(llvm_mc, tmp_path):
    sources = sorted(ASM.glob("*.s"))
    assert len(sources) >= 19
    for source in sources:
        fresh = tmp_path / source.with_suffix(".o").name
        make_fixtures.assemble(source, fresh, llvm_mc)
        assert fresh.read_bytes() == source.with_suffix(".o").read_bytes(), (
            f"{source.name}: committed .o differs; run tests/toolchain/fixtures/make_fixtures.py")
