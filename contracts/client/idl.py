"""The committed IDL and anchorpy's coders over it (loaded once)."""
from __future__ import annotations

import json
from functools import lru_cache

from anchorpy import Idl
from anchorpy.coder.coder import Coder

from contracts import IDL_PATH


@lru_cache(maxsize=1)
def idl_json() -> dict:
    return json.loads(IDL_PATH.read_text())


@lru_cache(maxsize=1)
def idl() -> Idl:
    return Idl.from_json(IDL_PATH.read_text())


@lru_cache(maxsize=1)
def coder() -> Coder:
    return Coder(idl())
