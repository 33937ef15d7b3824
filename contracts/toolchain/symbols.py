"""Readable names for Rust symbols in error messages (best effort; the mangled name is kept beside it)."""
from __future__ import annotations

import re

_LEGACY_HASH = re.compile(r"^h[0-9a-f]{16}$")


def _ident(s: str, i: int) -> tuple[str, int]:
    """<decimal length>[_]<bytes> (v0 and legacy identifiers)."""
    m = re.match(r"\d+", s[i:])
    if not m:
        raise ValueError
    n = int(m.group())
    i += len(m.group())
    if i < len(s) and s[i] == "_":  # v0: separator when the identifier starts with a digit or _
        i += 1
    if n == 0 or i + n > len(s):
        raise ValueError
    return s[i:i + n], i + n


def _v0_path(s: str, i: int) -> tuple[list[str], int]:
    tag = s[i]
    if tag == "C":  # crate root: C [s<disambiguator>_] <ident>
        i += 1
        if s[i] == "s":
            i = s.index("_", i) + 1
        name, i = _ident(s, i)
        return [name], i
    if tag == "N":  # nested: N <namespace> <path> [s<disambiguator>_] <ident>
        ns = s[i + 1]
        parent, i = _v0_path(s, i + 2)
        if s[i] == "s":
            i = s.index("_", i) + 1
        if s[i] == "0":  # unnamed item (closure/shim)
            return parent + ["{closure}" if ns == "C" else "{shim}"], i + 1
        name, i = _ident(s, i)
        return parent + [name], i
    raise ValueError


def demangle(name: str) -> str:
    """`core::panicking::panic_fmt` for `_RNvNtCs.._4core9panicking9panic_fmt`; the input if unsure."""
    try:
        if name.startswith("_R"):
            parts, _ = _v0_path(name, 2)
            return "::".join(parts)
        if name.startswith("_ZN") and name.endswith("E"):
            parts, i = [], 3
            while name[i] != "E":
                part, i = _ident(name, i)
                parts.append(part)
            if parts and _LEGACY_HASH.match(parts[-1]):
                parts.pop()
            return "::".join(parts)
    except (ValueError, IndexError):
        pass
    return name


def describe(name: str) -> str:
    pretty = demangle(name)
    return f"`{pretty}`" if pretty == name else f"`{pretty}` ({name})"
