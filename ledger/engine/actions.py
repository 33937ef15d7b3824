"""The billing program's crank actions as executor Actions: each knows its instructions and how the chain
shows it done (so a crash or a second replica never causes a second payment)."""
from __future__ import annotations

import json
import time
from typing import Callable, Optional

from solders.keypair import Keypair
from solders.pubkey import Pubkey
from spl.token.instructions import get_associated_token_address
from sqlalchemy.orm import Session

from contracts.client import BillingProgram, decode_account_as, epoch_at
from metering.settlement import SettlementPort, SqlSettlement

from .chain import Chain, ChainError
from .models import Intent


def _acct(chain: Chain, name: str, address: Pubkey):
    data = chain.account_data(address)
    return None if data is None else decode_account_as(name, data)


class ConfigCache:
    """The Config as last read: the mint and the epoch schedule never change; the treasury can
    (set_treasury), so the crank reads the Config fresh once per settlement run; the rest is read fresh where
    it matters."""

    def __init__(self, chain: Chain, program: BillingProgram) -> None:
        self.chain = chain
        self.program = program
        self._cfg = None
        self._epoch: tuple[int, float] | None = None

    def get(self, fresh: bool = False):
        if self._cfg is None or fresh:
            cfg = _acct(self.chain, "Config", self.program.config_address())
            if cfg is None:
                raise ChainError(f"program {self.program.program_id} is not initialized (no Config account)")
            self._cfg = cfg
        return self._cfg

    def current_epoch(self, max_age_s: float = 1.0) -> int:
        # Read the cluster clock at most once a second: a settle built just before an epoch boundary and
        # executed after it fails (WrongPda) and is retried, so a slightly stale epoch costs one retry.
        now = time.monotonic()
        if self._epoch is None or now - self._epoch[1] > max_age_s:
            cfg = self.get()
            self._epoch = (epoch_at(int(cfg.genesis_ts), int(cfg.epoch_length), self.chain.unix_time()), now)
        return self._epoch[0]


class PostBatchAction:
    """post_batch names the config version of the batch's receipts: if an update_config lands after the
    crank checked it, the program refuses the batch (StaleConfigVersion) rather than stamping it with a
    version none of its receipts carry."""

    kind = "post_batch"

    def __init__(self, program: BillingProgram, meter: Keypair,
                 receipts_version: Optional[Callable[[int], int]] = None,
                 port: Optional[SettlementPort] = None) -> None:
        self.program = program
        self.meter = meter
        self.port: SettlementPort = port if port is not None else SqlSettlement()
        # For intents recorded before payloads carried the version: the version of the batch's receipts.
        self.receipts_version = receipts_version

    def instructions(self, payload: dict):
        version = payload.get("config_version")
        if version is None:
            version = self.receipts_version(payload["batch_id"]) if self.receipts_version else 0
        ix = self.program.post_batch(meter=self.meter.pubkey(), index=payload["index"],
                                     root=bytes.fromhex(payload["root"]), count=payload["count"],
                                     total=payload["total"], config_version=version)
        return [ix], [self.meter]

    def done(self, chain: Chain, payload: dict) -> bool:
        b = _acct(chain, "Batch", self.program.batch_address(payload["index"]))
        return b is not None and bytes(b.root) == bytes.fromhex(payload["root"])

    def on_confirmed(self, session: Session, intent: Intent, signature: Optional[str]) -> None:
        bid = json.loads(intent.payload)["batch_id"]
        self.port.mark_batch_posted(session, bid, signature or "", time.time_ns() // 1_000_000)


class SettleAction:
    kind = "settle"

    def __init__(self, program: BillingProgram, config: ConfigCache, payer: Pubkey) -> None:
        self.program = program
        self.config = config
        self.payer = payer
        self._payouts: dict[str, Pubkey] = {}

    def forget_payouts(self) -> None:
        """Read each provider's payout account again (a provider may change it: set_payout)."""
        self._payouts.clear()

    def _payout(self, chain: Chain, provider: str) -> Pubkey:
        if provider not in self._payouts:
            p = _acct(chain, "Provider", self.program.provider_address(Pubkey.from_string(provider)))
            if p is None:
                raise ChainError(f"provider {provider} is not registered on-chain")
            self._payouts[provider] = p.payout
        return self._payouts[provider]

    def instructions(self, payload: dict):
        cfg = self.config.get()
        ix = self.program.settle(payer=self.payer, batch_index=payload["batch_index"],
                                 receipt=bytes.fromhex(payload["receipt"]),
                                 proof=[bytes.fromhex(h) for h in payload["proof"]],
                                 payout=self._payout(self.config.chain, payload["provider"]), treasury=cfg.treasury,
                                 mint=cfg.mint, epoch=self.config.current_epoch())
        return [ix], []

    def done(self, chain: Chain, payload: dict) -> bool:
        ch = _acct(chain, "Channel", self.program.channel_address(Pubkey.from_string(payload["customer"]),
                                                                   Pubkey.from_string(payload["provider"])))
        return ch is not None and int(ch.last_seq) >= payload["seq"]

    def on_confirmed(self, session: Session, intent: Intent, signature: Optional[str]) -> None:
        return None  # the Settled event reaches the ledger through the follower


class PrepareSettleAction:
    """prepare_settle for one channel and epoch, as its own small transaction ahead of settle: it creates
    whichever of Epoch and ProviderEpoch is missing, so that settle itself creates nothing (its cheap path)
    while its transaction keeps every byte for the Merkle proof. The Channel must exist already: only the
    customer opens it (the program refuses a pair without one: ChannelNotOpened)."""

    kind = "prepare_settle"

    def __init__(self, program: BillingProgram, payer: Pubkey) -> None:
        self.program = program
        self.payer = payer

    def addresses(self, customer: str, provider: str, epoch: int) -> list[Pubkey]:
        p = Pubkey.from_string(provider)
        return [self.program.epoch_address(epoch), self.program.provider_epoch_address(p, epoch)]

    def instructions(self, payload: dict):
        ix = self.program.prepare_settle(payer=self.payer, customer_wallet=Pubkey.from_string(payload["customer"]),
                                         provider_wallet=Pubkey.from_string(payload["provider"]),
                                         epoch=payload["epoch"])
        return [ix], []

    def done(self, chain: Chain, payload: dict) -> bool:
        return all(chain.account_data(a) is not None
                   for a in self.addresses(payload["customer"], payload["provider"], payload["epoch"]))

    def on_confirmed(self, session, intent, signature) -> None:
        return None


class CloseBatchAction:
    """close_batch: the meter takes back a batch's rent once the batch is past its retention and no
    longer needed (the job decides which: `Engine.close_batches`). Done when the Batch account is gone."""

    kind = "close_batch"

    def __init__(self, program: BillingProgram, meter: Keypair) -> None:
        self.program = program
        self.meter = meter

    def instructions(self, payload: dict):
        return [self.program.close_batch(meter=self.meter.pubkey(), index=payload["index"])], [self.meter]

    def done(self, chain: Chain, payload: dict) -> bool:
        return chain.account_data(self.program.batch_address(payload["index"])) is None

    def on_confirmed(self, session, intent, signature) -> None:
        return None


class TopUpAction:
    kind = "top_up"

    def __init__(self, program: BillingProgram, config: ConfigCache) -> None:
        self.program = program
        self.config = config

    def instructions(self, payload: dict):
        ix = self.program.top_up(customer_wallet=Pubkey.from_string(payload["customer"]),
                                 source=Pubkey.from_string(payload["source"]), mint=self.config.get().mint)
        return [ix], []

    def done(self, chain: Chain, payload: dict) -> bool:
        c = _acct(chain, "Customer", self.program.customer_address(Pubkey.from_string(payload["customer"])))
        return c is not None and int(c.total_deposited) > payload["total_deposited"]

    def on_confirmed(self, session, intent, signature) -> None:
        return None


class FundEpochAction:
    kind = "fund_epoch"

    def __init__(self, program: BillingProgram, config: ConfigCache, funder: Keypair) -> None:
        self.program = program
        self.config = config
        self.funder = funder

    def instructions(self, payload: dict):
        mint = self.config.get().mint
        ix = self.program.fund_epoch(funder=self.funder.pubkey(), epoch=payload["epoch"],
                                     source=get_associated_token_address(self.funder.pubkey(), mint), mint=mint,
                                     amount=payload["amount"])
        return [ix], [self.funder]

    def done(self, chain: Chain, payload: dict) -> bool:
        e = _acct(chain, "Epoch", self.program.epoch_address(payload["epoch"]))
        return e is not None and int(e.reward_pool) >= payload["amount"]

    def on_confirmed(self, session, intent, signature) -> None:
        return None
