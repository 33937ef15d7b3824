"""The chain's provider registry, as the meter's ingestion follows it: a provider registered on-chain (a
Provider account of the program, at the PDA of its wallet) may post usage without `solmeter meter providers
add`, as long as its unencumbered stake (stake vault balance - pending slashes) is at least the min_stake in
force: a provider slashed below the minimum (or that unstaked) bills nothing until it stakes again. The
program has no instruction that deregisters a provider, so "deregistered" is only ever the meter's own
`meter providers remove`, which wins over the chain (meter_providers.active = false).

`ChainProviders` caches the registry: read whole (getProgramAccounts of Provider accounts, one
getMultipleAccounts of their stake vaults, the Config) when older than `max_age_s`, and once more when a key
it does not know signs a request, at most once per `min_refresh_s` whatever the number of unknown keys: a
flood of made-up keys costs the RPC one read per interval, not one per request."""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Callable

from solders.pubkey import Pubkey

from chain import ChainError, RpcClient

from contracts import pda
from contracts.amounts import tokens
from contracts.client.decode import DecodeError, account_size, decode_account_as
from contracts.client.gen.accounts import Provider
from contracts.client.instructions import params_at

log = logging.getLogger("solmeter.meter")
TOKEN_AMOUNT = slice(64, 72)  # SPL token account: mint 32, owner 32, amount u64


@dataclass(frozen=True)
class ProviderStanding:
    wallet: str
    stake: int  # unencumbered: stake vault balance - pending_slash
    min_stake: int  # in force when read
    decimals: int | None = None  # the mint's, to say amounts in tokens (None: base units only)

    @property
    def may_bill(self) -> bool:
        return self.stake >= self.min_stake

    def _amount(self, units: int) -> str:
        if self.decimals is None:
            return f"{units} base units"
        return f"{tokens(units, self.decimals)} tokens ({units} base units)"

    def refusal(self) -> str:
        return (f"{self.wallet} is registered on-chain but its unencumbered stake {self._amount(self.stake)} is "
                f"below the minimum {self._amount(self.min_stake)}: it bills nothing until it stakes at least "
                f"{self._amount(self.min_stake - self.stake)} more (`solmeter provider stake AMOUNT`)")


class RegistryUnavailable(RuntimeError):
    """The registry could not be read, and the key asked about is not in the last copy read."""


Fetch = Callable[[], dict[str, ProviderStanding]]


def provider_registry_reader(rpc_url: str, program_id: str, *, timeout_s: float = 10.0,
                             clock_s: Callable[[], int] = lambda: int(time.time())) -> Fetch:
    """Read every provider's standing from the chain. Each Provider account is checked to be at the PDA of
    the wallet it names (the program creates them nowhere else; an account that is not is ignored)."""
    client = RpcClient(rpc_url, timeout=timeout_s)
    program = Pubkey.from_string(program_id)
    config_addr, _ = pda.config(program)

    def read() -> dict[str, ProviderStanding]:
        try:
            cfg_info = client.get_account_info(config_addr)
            if cfg_info is None or cfg_info.owner != program:
                raise RegistryUnavailable(f"no Config account {config_addr} of program {program} at {rpc_url}: "
                                          "run `solmeter operator init` first")
            cfg = decode_account_as("Config", bytes(cfg_info.data))
            min_stake = int(params_at(cfg, clock_s()).min_stake)
            decimals = int(cfg.decimals)  # the mint's, as initialize recorded them (no second account read)
            accounts = client.get_program_accounts(program, memcmp=[(0, Provider.DISCRIMINATOR)],
                                                   data_size=account_size("Provider"))
            providers = []
            for address, acct in accounts:
                try:
                    p = decode_account_as("Provider", bytes(acct.data))
                except DecodeError:
                    continue
                if pda.provider(program, p.wallet)[0] == address and p.stake_vault == pda.stake(program, p.wallet)[0]:
                    providers.append(p)
            vaults: list = []
            for i in range(0, len(providers), 100):
                vaults += client.get_multiple_accounts([p.stake_vault for p in providers[i:i + 100]])
        except ChainError as e:
            raise RegistryUnavailable(f"cannot read the provider registry from {rpc_url}: {type(e).__name__} {e}"
                                      .rstrip()) from e
        out = {}
        for p, v in zip(providers, vaults):
            balance = int.from_bytes(bytes(v.data)[TOKEN_AMOUNT], "little") if v is not None else 0
            out[str(p.wallet)] = ProviderStanding(str(p.wallet), max(0, balance - int(p.pending_slash)), min_stake,
                                                  decimals)
        return out

    return read


class ChainProviders:
    def __init__(self, fetch: Fetch, *, max_age_s: float = 60.0, min_refresh_s: float = 10.0,
                 clock: Callable[[], float] = time.monotonic):
        self.fetch, self.max_age_s, self.min_refresh_s, self.clock = fetch, max_age_s, min_refresh_s, clock
        self._lock = threading.Lock()  # one read at a time: concurrent unknown keys wait for the same read
        self._known: dict[str, ProviderStanding] | None = None
        self._read_at: float | None = None  # last successful read
        self._tried_at: float | None = None  # last attempt, successful or not
        self._error: str | None = None
        self.reads = 0  # registry reads made (each a few RPC calls)

    def standing(self, wallet: str) -> ProviderStanding | None:
        """The wallet's standing on-chain, or None if the chain has no such provider. Raises
        RegistryUnavailable when the registry cannot be read and the wallet is not in the last copy."""
        with self._lock:
            now = self.clock()
            stale = self._read_at is None or now - self._read_at >= self.max_age_s
            unknown = self._known is None or wallet not in self._known
            may_try = self._tried_at is None or now - self._tried_at >= self.min_refresh_s
            if (stale or unknown) and may_try:
                self._refresh(now)
            if self._known is not None and wallet in self._known:
                return self._known[wallet]
            if self._error is not None:
                raise RegistryUnavailable(self._error)
            return None

    def _refresh(self, now: float) -> None:
        self._tried_at = now
        self.reads += 1
        try:
            self._known = self.fetch()
        except RegistryUnavailable as e:
            if self._error != str(e):
                log.warning("provider registry: %s; serving the last copy read, retrying every %g s", e,
                            self.min_refresh_s)
            self._error = str(e)
            return
        self._read_at, self._error = now, None
