"""The committed IDL files as JSON (loaded once). The client itself does not read them: it is generated from the
same source (contracts/client/gen); these are for tools and for the tests that compare the two."""
from __future__ import annotations

import json
from functools import lru_cache

from contracts import IDL_ANCHOR_PATH, IDL_PATH


@lru_cache(maxsize=1)
def idl_json() -> dict:
    """The legacy Anchor IDL (what anchorpy 0.21 reads)."""
    return json.loads(IDL_PATH.read_text())


@lru_cache(maxsize=1)
def anchor_idl_json() -> dict:
    """The Anchor 0.30+ IDL (spec 0.1.0)."""
    return json.loads(IDL_ANCHOR_PATH.read_text())
