"""Method table and the per-request context handlers receive."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..bank import Bank
from .params import Params

Handler = Callable[["Ctx", Params], object]
METHODS: dict[str, Handler] = {}


def method(name: str, *, cheat: bool = False) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        fn.cheat = cheat  # type: ignore[attr-defined]
        METHODS[name] = fn
        return fn

    return register


@dataclass
class Ctx:
    bank: Bank
    identity: str
    rpc_addr: str
    ws_addr: str
    cheats: bool = False
