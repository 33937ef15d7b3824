"""JSON-RPC 2.0 layer: params parsing, handlers per method group, response shaping, dispatch."""
from . import accounts, chain, cheats, tokens, transactions  # noqa: F401  (register methods)
from .dispatch import Dispatcher
from .registry import METHODS, Ctx

__all__ = ["Dispatcher", "Ctx", "METHODS"]
