"""What the single-source tests (test_economics_single_source.py, test_kinds_single_source.py) share: the
tracked Python sources they read, and their code tokens cut into logical lines."""
from __future__ import annotations

import io
import subprocess
import tokenize
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parents[2]


def logical_lines(source: str, types: frozenset[int]) -> Iterator[list[tokenize.TokenInfo]]:
    """The tokens of `types` of each logical line of `source` (comments and line breaks never are)."""
    line: list[tokenize.TokenInfo] = []
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type in (tokenize.NEWLINE, tokenize.ENDMARKER):
            yield line
            line = []
        elif tok.type in types:
            line.append(tok)


def tracked_sources(home: str) -> dict[str, str]:
    """Every tracked Python file outside tests/ but `home`, path -> text."""
    files = subprocess.run(["git", "ls-files", "*.py"], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout.split()
    return {f: (ROOT / f).read_text() for f in files
            if f != home and not f.startswith("tests/") and (ROOT / f).exists()}
