"""The config version in force on-chain, read from the program's Config account over RPC.

The meter issues every receipt for the version in force (settle rejects any other), so a long-running meter
re-reads it on each run of its jobs (`MeterJobs(config_version_source=...)`) instead of trusting a flag."""
from __future__ import annotations

from typing import Callable

from solders.pubkey import Pubkey

from chain import ChainError, RpcClient

from contracts import pda
from contracts.client.decode import decode_account_as


class ChainUnreachable(RuntimeError):
    """The RPC endpoint did not answer."""


class ConfigNotFound(RuntimeError):
    """The program has no Config account on that cluster (not initialized)."""


def config_version_reader(rpc_url: str, program_id: str, *, timeout_s: float = 10.0) -> Callable[[], int]:
    client = RpcClient(rpc_url, timeout=timeout_s)
    program = Pubkey.from_string(program_id)
    address, _ = pda.config(program)

    def read() -> int:
        try:
            info = client.get_account_info(address)
        except ChainError as e:
            raise ChainUnreachable(f"cannot read {address} from {rpc_url}: {type(e).__name__} {e}".rstrip()) from e
        if info is None:
            raise ConfigNotFound(f"no Config account {address} for program {program} at {rpc_url}: "
                                 "run `solmeter operator init` first")
        if info.owner != program:
            raise ConfigNotFound(f"account {address} is not owned by program {program}")
        return int(decode_account_as("Config", bytes(info.data)).version)

    return read
