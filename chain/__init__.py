"""chain: the project's one Solana JSON-RPC layer (see ARCHITECTURE.md, "One RPC client layer").

- `requests`: pure request builders (solders request bodies paired with their response types);
- `responses`: the one place answers are parsed (solders' typed responses) and JSON-RPC errors mapped;
- `errors`: ChainError > ChainUnavailable, RpcError > TxRejected (program errors by name and message);
- `client`: `RpcClient`, the synchronous client over httpx that the jobs, CLIs and the auditor use.
"""
from .client import RpcClient
from .errors import ChainError, ChainUnavailable, RpcError, TxRejected

__all__ = ["ChainError", "ChainUnavailable", "RpcClient", "RpcError", "TxRejected"]
