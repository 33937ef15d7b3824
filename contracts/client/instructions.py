"""Pure builders of the program's instructions: a typed method per instruction, returning a solders
Instruction encoded by the generated instruction classes (contracts/client/gen/instructions.py). No I/O here;
PDAs and their bumps come from contracts/pda.py (the single Python implementation of the seeds)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence, Union

from solders.instruction import Instruction
from solders.pubkey import Pubkey

from contracts import DEFAULT_PROGRAM_ID, pda
from contracts.receipt import RECEIPT_LEN, Receipt

from .base import InstructionBuildError
from .borsh import BorshError
from .gen.instructions import INSTRUCTIONS, InstructionArgs

SYSTEM_PROGRAM_ID = Pubkey.from_string("11111111111111111111111111111111")
BPF_LOADER_UPGRADEABLE_ID = Pubkey.from_string("BPFLoaderUpgradeab1e11111111111111111111111")
TOKEN_PROGRAM_ID = Pubkey.from_string("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA")


def _ix_class(name: str) -> type[InstructionArgs]:
    cls = INSTRUCTIONS.get(name)
    if cls is None:
        raise InstructionBuildError(f"the program has no instruction {name!r}")
    return cls


U64_MAX = (1 << 64) - 1


def params_at(config: Any, unix_timestamp: int) -> Any:
    """The protective parameters (arbiter, min_stake, windows, delays) of a decoded Config in force at
    `unix_timestamp`, exactly as the program reads them: the staged `pending` set from `pending_at` on."""
    at = int(config.pending_at)
    return config.pending if at != 0 and unix_timestamp >= at else config.params


@dataclass(frozen=True)
class BillingProgram:
    """Instruction builders for one deployment of the billing program."""

    program_id: Pubkey = Pubkey.from_string(DEFAULT_PROGRAM_ID)

    # ---- generic --------------------------------------------------------------------------------
    def build(self, name: str, accounts: Mapping[str, Pubkey], args: Mapping[str, Any]) -> Instruction:
        """Encode instruction `name` with `args` (snake_case) and accounts by snake_case name, in
        the IDL's order with the IDL's signer/writable flags."""
        cls = _ix_class(name)
        expected = {n for n, _ in cls.FIELDS}
        if set(args) != expected:
            raise InstructionBuildError(f"{name}: args {sorted(args)} differ from {sorted(expected)}")
        try:
            return cls(**args).instruction(self.program_id, accounts)
        except BorshError as e:
            raise InstructionBuildError(f"{name}: {e}") from e

    # ---- addresses ------------------------------------------------------------------------------
    def config_address(self) -> Pubkey:
        return pda.config(self.program_id)[0]

    def customer_address(self, wallet: Pubkey) -> Pubkey:
        return pda.customer(self.program_id, wallet)[0]

    def escrow_address(self, wallet: Pubkey) -> Pubkey:
        return pda.escrow(self.program_id, wallet)[0]

    def provider_address(self, wallet: Pubkey) -> Pubkey:
        return pda.provider(self.program_id, wallet)[0]

    def stake_address(self, wallet: Pubkey) -> Pubkey:
        return pda.stake(self.program_id, wallet)[0]

    def channel_address(self, customer_wallet: Pubkey, provider_wallet: Pubkey) -> Pubkey:
        return pda.channel(self.program_id, customer_wallet, provider_wallet)[0]

    def batch_address(self, index: int) -> Pubkey:
        return pda.batch(self.program_id, index)[0]

    def epoch_address(self, n: int) -> Pubkey:
        return pda.epoch(self.program_id, n)[0]

    def provider_epoch_address(self, provider_wallet: Pubkey, n: int) -> Pubkey:
        return pda.provider_epoch(self.program_id, provider_wallet, n)[0]

    def slash_address(self, provider_wallet: Pubkey, index: int) -> Pubkey:
        return pda.slash(self.program_id, provider_wallet, index)[0]

    def rewards_address(self) -> Pubkey:
        return pda.rewards(self.program_id)[0]

    def price_book_address(self, version: int) -> Pubkey:
        return pda.price_book(self.program_id, version)[0]

    def program_data_address(self) -> Pubkey:
        """The program's ProgramData account under the upgradeable loader (holds the upgrade
        authority that initialize requires as admin)."""
        return Pubkey.find_program_address([bytes(self.program_id)], BPF_LOADER_UPGRADEABLE_ID)[0]

    # ---- admin ----------------------------------------------------------------------------------
    def initialize(
        self,
        *,
        admin: Pubkey,
        mint: Pubkey,
        treasury: Pubkey,
        meter: Pubkey,
        arbiter: Pubkey,
        fee_bps: int,
        burn_bps: int,
        min_stake: int,
        withdrawal_delay: int,
        settlement_window: int,
        unstake_cooldown: int,
        contest_window: int,
        resolution_window: int,
        batch_retention: int,
        update_delay: int,
        epoch_length: int,
    ) -> Instruction:
        config, config_bump = pda.config(self.program_id)
        rewards, rewards_bump = pda.rewards(self.program_id)
        return self.build(
            "initialize",
            dict(admin=admin, config=config, mint=mint, treasury=treasury, rewards_vault=rewards,
                 system_program=SYSTEM_PROGRAM_ID, token_program=TOKEN_PROGRAM_ID, program=self.program_id,
                 program_data=self.program_data_address()),
            dict(fee_bps=fee_bps, burn_bps=burn_bps, min_stake=min_stake, withdrawal_delay=withdrawal_delay,
                 settlement_window=settlement_window, unstake_cooldown=unstake_cooldown,
                 contest_window=contest_window, resolution_window=resolution_window,
                 batch_retention=batch_retention, update_delay=update_delay, epoch_length=epoch_length, meter=meter,
                 arbiter=arbiter, config_bump=config_bump, rewards_bump=rewards_bump),
        )

    def update_config(
        self,
        *,
        admin: Pubkey,
        fee_bps: Optional[int] = None,
        burn_bps: Optional[int] = None,
        min_stake: Optional[int] = None,
        withdrawal_delay: Optional[int] = None,
        settlement_window: Optional[int] = None,
        unstake_cooldown: Optional[int] = None,
        contest_window: Optional[int] = None,
        resolution_window: Optional[int] = None,
        batch_retention: Optional[int] = None,
        update_delay: Optional[int] = None,
        arbiter: Optional[Pubkey] = None,
        new_admin: Optional[Pubkey] = None,
        add_meter: Optional[Pubkey] = None,
        remove_meter: Optional[Pubkey] = None,
        paused: Optional[bool] = None,
    ) -> Instruction:
        """Fees, the admin, meter keys and the pause flag change at once; the protective parameters
        (min_stake, the windows and delays, arbiter) are staged and take effect `update_delay` later
        (see `params_at`)."""
        return self.build(
            "update_config",
            dict(admin=admin, config=self.config_address()),
            dict(fee_bps=fee_bps, burn_bps=burn_bps, min_stake=min_stake, withdrawal_delay=withdrawal_delay,
                 settlement_window=settlement_window, unstake_cooldown=unstake_cooldown,
                 contest_window=contest_window, resolution_window=resolution_window,
                 batch_retention=batch_retention, update_delay=update_delay, arbiter=arbiter, new_admin=new_admin,
                 add_meter=add_meter, remove_meter=remove_meter, paused=paused),
        )

    def set_treasury(self, *, admin: Pubkey, treasury: Pubkey) -> Instruction:
        """Fees go to `treasury` (a token account of the mint, not a program vault) from now on."""
        return self.build("set_treasury", dict(admin=admin, config=self.config_address(), treasury=treasury), {})

    def publish_price_book(self, *, admin: Pubkey, version: int, sha256: bytes) -> Instruction:
        """Commit price book `version` (above every published one) by the sha256 of its file."""
        if len(sha256) != 32:
            raise InstructionBuildError("a price book hash is 32 bytes")
        book, bump = pda.price_book(self.program_id, version)
        return self.build(
            "publish_price_book",
            dict(admin=admin, config=self.config_address(), price_book=book, system_program=SYSTEM_PROGRAM_ID),
            dict(version=version, sha256=list(sha256), price_book_bump=bump),
        )

    # ---- customer -------------------------------------------------------------------------------
    def register_customer(self, *, wallet: Pubkey, mint: Pubkey) -> Instruction:
        customer, cb = pda.customer(self.program_id, wallet)
        escrow, eb = pda.escrow(self.program_id, wallet)
        return self.build(
            "register_customer",
            dict(wallet=wallet, config=self.config_address(), customer=customer, escrow=escrow, mint=mint,
                 system_program=SYSTEM_PROGRAM_ID, token_program=TOKEN_PROGRAM_ID),
            dict(customer_bump=cb, escrow_bump=eb),
        )

    def deposit(self, *, wallet: Pubkey, source: Pubkey, mint: Pubkey, amount: int) -> Instruction:
        return self.build(
            "deposit",
            dict(wallet=wallet, config=self.config_address(), customer=self.customer_address(wallet),
                 escrow=self.escrow_address(wallet), source=source, mint=mint, token_program=TOKEN_PROGRAM_ID),
            dict(amount=amount),
        )

    def request_withdrawal(self, *, wallet: Pubkey, amount: int) -> Instruction:
        return self.build(
            "request_withdrawal",
            dict(wallet=wallet, config=self.config_address(), customer=self.customer_address(wallet)),
            dict(amount=amount),
        )

    def withdraw(self, *, wallet: Pubkey, destination: Pubkey, mint: Pubkey) -> Instruction:
        return self.build(
            "withdraw",
            dict(wallet=wallet, config=self.config_address(), customer=self.customer_address(wallet),
                 escrow=self.escrow_address(wallet), destination=destination, mint=mint,
                 token_program=TOKEN_PROGRAM_ID),
            {},
        )

    def set_channel_limit(self, *, wallet: Pubkey, provider_wallet: Pubkey, limit_per_epoch: int) -> Instruction:
        channel, bump = pda.channel(self.program_id, wallet, provider_wallet)
        return self.build(
            "set_channel_limit",
            dict(wallet=wallet, config=self.config_address(), customer=self.customer_address(wallet),
                 provider=self.provider_address(provider_wallet), channel=channel, system_program=SYSTEM_PROGRAM_ID),
            dict(limit_per_epoch=limit_per_epoch, channel_bump=bump),
        )

    def open_channel(self, *, wallet: Pubkey, provider_wallet: Pubkey, limit_per_epoch: int = U64_MAX) -> Instruction:
        """The customer's consent to be billed by `provider_wallet`: set_channel_limit, which creates the
        Channel (with `limit_per_epoch` in force at once) when it does not exist. Nothing settles on a
        pair without it."""
        return self.set_channel_limit(wallet=wallet, provider_wallet=provider_wallet, limit_per_epoch=limit_per_epoch)

    def configure_auto_top_up(self, *, wallet: Pubkey, source: Pubkey, threshold: int, amount: int) -> Instruction:
        return self.build(
            "configure_auto_top_up",
            dict(wallet=wallet, config=self.config_address(), customer=self.customer_address(wallet), source=source),
            dict(threshold=threshold, amount=amount),
        )

    def top_up(self, *, customer_wallet: Pubkey, source: Pubkey, mint: Pubkey) -> Instruction:
        return self.build(
            "top_up",
            dict(config=self.config_address(), customer=self.customer_address(customer_wallet),
                 escrow=self.escrow_address(customer_wallet), source=source, mint=mint,
                 token_program=TOKEN_PROGRAM_ID),
            {},
        )

    # ---- provider -------------------------------------------------------------------------------
    def register_provider(self, *, wallet: Pubkey, payout: Pubkey, mint: Pubkey) -> Instruction:
        provider, pb = pda.provider(self.program_id, wallet)
        stake, sb = pda.stake(self.program_id, wallet)
        return self.build(
            "register_provider",
            dict(wallet=wallet, config=self.config_address(), provider=provider, stake_vault=stake, payout=payout,
                 mint=mint, system_program=SYSTEM_PROGRAM_ID, token_program=TOKEN_PROGRAM_ID),
            dict(provider_bump=pb, stake_bump=sb),
        )

    def stake(self, *, wallet: Pubkey, source: Pubkey, mint: Pubkey, amount: int) -> Instruction:
        return self.build(
            "stake",
            dict(wallet=wallet, config=self.config_address(), provider=self.provider_address(wallet),
                 stake_vault=self.stake_address(wallet), source=source, mint=mint, token_program=TOKEN_PROGRAM_ID),
            dict(amount=amount),
        )

    def request_unstake(self, *, wallet: Pubkey, amount: int) -> Instruction:
        return self.build(
            "request_unstake",
            dict(wallet=wallet, config=self.config_address(), provider=self.provider_address(wallet)),
            dict(amount=amount),
        )

    def withdraw_stake(self, *, wallet: Pubkey, destination: Pubkey, mint: Pubkey) -> Instruction:
        return self.build(
            "withdraw_stake",
            dict(wallet=wallet, config=self.config_address(), provider=self.provider_address(wallet),
                 stake_vault=self.stake_address(wallet), destination=destination, mint=mint,
                 token_program=TOKEN_PROGRAM_ID),
            {},
        )

    def set_payout(self, *, wallet: Pubkey, payout: Pubkey) -> Instruction:
        """Settlements and rewards go to `payout` (a token account of the mint owned by `wallet`)."""
        return self.build(
            "set_payout",
            dict(wallet=wallet, config=self.config_address(), provider=self.provider_address(wallet), payout=payout),
            {},
        )

    # ---- meter and crank ------------------------------------------------------------------------
    def post_batch(self, *, meter: Pubkey, index: int, root: bytes, count: int, total: int,
                   config_version: int) -> Instruction:
        """Commit a batch. `config_version` is the config version its receipts carry: the program refuses
        the batch (StaleConfigVersion) when Config.version has moved on, so a batch is never stamped with
        a version its receipts do not hold."""
        batch, bump = pda.batch(self.program_id, index)
        if len(root) != 32:
            raise InstructionBuildError("root must be 32 bytes")
        return self.build(
            "post_batch",
            dict(meter=meter, config=self.config_address(), batch=batch, system_program=SYSTEM_PROGRAM_ID),
            dict(root=list(root), count=count, total=total, batch_bump=bump, config_version=config_version),
        )

    def close_batch(self, *, meter: Pubkey, index: int) -> Instruction:
        """Close batch `index` (signed by the meter that posted it, after its retention) and return its
        rent to the meter."""
        return self.build("close_batch", dict(meter=meter, config=self.config_address(),
                                              batch=self.batch_address(index)), {})

    def settle(
        self,
        *,
        payer: Pubkey,
        batch_index: int,
        receipt: Union[Receipt, bytes],
        proof: Sequence[bytes],
        payout: Pubkey,
        treasury: Pubkey,
        mint: Pubkey,
        epoch: int,
        customer_wallet: Optional[Pubkey] = None,
        provider_wallet: Optional[Pubkey] = None,
    ) -> Instruction:
        """Settle a channel up to `receipt`. `epoch` is the current epoch (see `epoch_at`); the
        wallets default to the receipt's customer and provider."""
        enc = receipt.encode() if isinstance(receipt, Receipt) else bytes(receipt)
        if len(enc) != RECEIPT_LEN:
            raise InstructionBuildError(f"a receipt encoding is {RECEIPT_LEN} bytes, got {len(enc)}")
        cust = customer_wallet or Pubkey(enc[56:88])
        prov = provider_wallet or Pubkey(enc[88:120])
        channel = self.channel_address(cust, prov)
        ep, eb = pda.epoch(self.program_id, epoch)
        pe, peb = pda.provider_epoch(self.program_id, prov, epoch)
        for s in proof:
            if len(s) != 32:
                raise InstructionBuildError("every proof element is 32 bytes")
        return self.build(
            "settle",
            dict(payer=payer, config=self.config_address(), batch=self.batch_address(batch_index),
                 customer=self.customer_address(cust), escrow=self.escrow_address(cust),
                 provider=self.provider_address(prov), stake_vault=self.stake_address(prov), payout=payout,
                 treasury=treasury, mint=mint, channel=channel, epoch=ep, provider_epoch=pe,
                 system_program=SYSTEM_PROGRAM_ID, token_program=TOKEN_PROGRAM_ID),
            dict(receipt=list(enc), proof=[list(s) for s in proof], epoch_bump=eb, provider_epoch_bump=peb),
        )

    def prepare_settle(self, *, payer: Pubkey, customer_wallet: Pubkey, provider_wallet: Pubkey,
                       epoch: int) -> Instruction:
        """Create whichever of the Epoch and ProviderEpoch that `settle` writes for this pair in `epoch`
        is missing (idempotent, permissionless; `payer` pays the rent); the customer must have opened the
        Channel (else ChannelNotOpened). Sent in front of `settle` in the same transaction, it keeps
        settle itself free of account creation."""
        channel = self.channel_address(customer_wallet, provider_wallet)
        ep, eb = pda.epoch(self.program_id, epoch)
        pe, peb = pda.provider_epoch(self.program_id, provider_wallet, epoch)
        return self.build(
            "prepare_settle",
            dict(payer=payer, config=self.config_address(), customer=self.customer_address(customer_wallet),
                 provider=self.provider_address(provider_wallet), channel=channel, epoch=ep, provider_epoch=pe,
                 system_program=SYSTEM_PROGRAM_ID),
            dict(epoch=epoch, epoch_bump=eb, provider_epoch_bump=peb),
        )

    def prepared_settle(self, **settle_kwargs: Any) -> list[Instruction]:
        """[prepare_settle, settle] for one transaction: the same keyword arguments as `settle`."""
        ix = self.settle(**settle_kwargs)
        enc = bytes(settle_kwargs["receipt"].encode() if isinstance(settle_kwargs["receipt"], Receipt)
                    else settle_kwargs["receipt"])
        cust = settle_kwargs.get("customer_wallet") or Pubkey(enc[56:88])
        prov = settle_kwargs.get("provider_wallet") or Pubkey(enc[88:120])
        prep = self.prepare_settle(payer=settle_kwargs["payer"], customer_wallet=cust, provider_wallet=prov,
                                   epoch=settle_kwargs["epoch"])
        return [prep, ix]

    # ---- rewards --------------------------------------------------------------------------------
    def fund_epoch(self, *, funder: Pubkey, epoch: int, source: Pubkey, mint: Pubkey, amount: int) -> Instruction:
        ep, eb = pda.epoch(self.program_id, epoch)
        return self.build(
            "fund_epoch",
            dict(funder=funder, config=self.config_address(), epoch=ep, rewards_vault=self.rewards_address(),
                 source=source, mint=mint, system_program=SYSTEM_PROGRAM_ID, token_program=TOKEN_PROGRAM_ID),
            dict(epoch=epoch, amount=amount, epoch_bump=eb),
        )

    def claim_rewards(self, *, wallet: Pubkey, epoch: int, payout: Pubkey, mint: Pubkey) -> Instruction:
        return self.build(
            "claim_rewards",
            dict(wallet=wallet, config=self.config_address(), provider=self.provider_address(wallet),
                 stake_vault=self.stake_address(wallet), provider_epoch=self.provider_epoch_address(wallet, epoch),
                 epoch=self.epoch_address(epoch), rewards_vault=self.rewards_address(), payout=payout, mint=mint,
                 token_program=TOKEN_PROGRAM_ID),
            dict(epoch=epoch),
        )

    # ---- slashing -------------------------------------------------------------------------------
    def propose_slash(
        self, *, admin: Pubkey, provider_wallet: Pubkey, index: int, amount: int, evidence_hash: bytes,
        beneficiary: Pubkey,
    ) -> Instruction:
        slash, bump = pda.slash(self.program_id, provider_wallet, index)
        return self.build(
            "propose_slash",
            dict(admin=admin, config=self.config_address(), provider=self.provider_address(provider_wallet),
                 stake_vault=self.stake_address(provider_wallet), slash=slash, beneficiary=beneficiary,
                 system_program=SYSTEM_PROGRAM_ID),
            dict(amount=amount, evidence_hash=list(evidence_hash), slash_bump=bump),
        )

    def contest_slash(self, *, wallet: Pubkey, index: int, evidence_hash: bytes) -> Instruction:
        return self.build(
            "contest_slash",
            dict(wallet=wallet, config=self.config_address(), provider=self.provider_address(wallet),
                 slash=self.slash_address(wallet, index)),
            dict(evidence_hash=list(evidence_hash)),
        )

    def resolve_slash(self, *, arbiter: Pubkey, provider_wallet: Pubkey, index: int, uphold: bool) -> Instruction:
        return self.build(
            "resolve_slash",
            dict(arbiter=arbiter, config=self.config_address(), provider=self.provider_address(provider_wallet),
                 slash=self.slash_address(provider_wallet, index)),
            dict(uphold=uphold),
        )

    def execute_slash(self, *, provider_wallet: Pubkey, index: int, beneficiary: Pubkey, mint: Pubkey) -> Instruction:
        return self.build(
            "execute_slash",
            dict(config=self.config_address(), provider=self.provider_address(provider_wallet),
                 slash=self.slash_address(provider_wallet, index), stake_vault=self.stake_address(provider_wallet),
                 beneficiary=beneficiary, mint=mint, token_program=TOKEN_PROGRAM_ID),
            {},
        )

    def lapse_slash(self, *, provider_wallet: Pubkey, index: int) -> Instruction:
        """Reject a contested slash its arbiter left unresolved past its resolve_deadline (permissionless)."""
        return self.build(
            "lapse_slash",
            dict(config=self.config_address(), provider=self.provider_address(provider_wallet),
                 slash=self.slash_address(provider_wallet, index)),
            {},
        )
