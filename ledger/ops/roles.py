"""What each role can do on-chain: one function per command, each one transaction."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from solders.keypair import Keypair
from solders.pubkey import Pubkey

from contracts.amounts import tokens
from contracts.client import U64_MAX, epoch_at

from ledger.engine.chain import RpcChain

from . import token
from .deployment import Deployment, read_account, read_config
from .tx import OpError, send


_CHANNELS_PER_TX = 8  # 4 shared + 2 per channel account keys stay well inside a 1,232-byte transaction


def _positive(name: str, v: int) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or v <= 0 or v >= 1 << 64:
        raise OpError(f"{name} must be a positive integer number of base units below 2^64, got {v!r}")
    return v


def _funded_source(chain: RpcChain, dep: Deployment, owner: Pubkey, amount: int, what: str) -> Pubkey:
    """The owner's token account of the mint, checked to hold `amount` before a transaction spends from it:
    without one the program answers WrongTokenAccount, with too little the token program InsufficientFunds,
    neither saying whose account or how much is missing."""
    src = token.ata(owner, dep.mint_key)
    have = chain.token_balance(src)
    if have is None or have < amount:
        held = (f"has no token account of mint {dep.mint}" if have is None
                else f"holds {tokens(have, dep.decimals)} tokens ({have} base units)")
        raise OpError(f"{what}: wallet {owner} {held}, {tokens(amount, dep.decimals)} tokens ({amount} base units) "
                      f"needed: get tokens of mint {dep.mint} into it first (on the localnet: `solmeter operator "
                      f"mint {owner} AMOUNT`)")
    return src


def evidence_hash(text_or_hex: str) -> bytes:
    """32 bytes of evidence: a 64-hex-digit hash as given, anything else hashed with sha256."""
    s = text_or_hex.strip()
    if len(s) == 64:
        try:
            return bytes.fromhex(s)
        except ValueError:
            pass
    return hashlib.sha256(s.encode()).digest()


def current_epoch(chain: RpcChain, dep: Deployment) -> int:
    cfg = read_config(chain, dep.program)
    return epoch_at(int(cfg.genesis_ts), int(cfg.epoch_length), chain.unix_time())


# ---- customer -----------------------------------------------------------------------------------------

def register_customer(chain: RpcChain, dep: Deployment, wallet: Keypair) -> str:
    if read_account(chain, "Customer", dep.program.customer_address(wallet.pubkey())) is not None:
        raise OpError(f"customer {wallet.pubkey()} is already registered")
    return send(chain, wallet, [dep.program.register_customer(wallet=wallet.pubkey(), mint=dep.mint_key)],
                what="register customer")


def deposit(chain: RpcChain, dep: Deployment, wallet: Keypair, amount: int) -> str:
    _positive("amount", amount)
    src = _funded_source(chain, dep, wallet.pubkey(), amount, "deposit")
    return send(chain, wallet, [dep.program.deposit(wallet=wallet.pubkey(), source=src, mint=dep.mint_key,
                                                    amount=amount)], what="deposit")


def request_withdrawal(chain: RpcChain, dep: Deployment, wallet: Keypair, amount: int) -> str:
    _positive("amount", amount)
    return send(chain, wallet, [dep.program.request_withdrawal(wallet=wallet.pubkey(), amount=amount)],
                what="request withdrawal")


def withdraw(chain: RpcChain, dep: Deployment, wallet: Keypair) -> str:
    dest = token.ata(wallet.pubkey(), dep.mint_key)
    return send(chain, wallet, [token.create_ata_ix(wallet.pubkey(), wallet.pubkey(), dep.mint_key),
                                dep.program.withdraw(wallet=wallet.pubkey(), destination=dest, mint=dep.mint_key)],
                what="withdraw")


def set_limit(chain: RpcChain, dep: Deployment, wallet: Keypair, provider: Pubkey, limit_per_epoch: int) -> str:
    """Cap one channel per epoch; opens the channel (the customer's consent to be billed by `provider`)
    when it is not open yet. A decrease of an open channel takes effect after the settlement window."""
    if limit_per_epoch < 0 or limit_per_epoch >= 1 << 64:
        raise OpError("limit must be in 0..2^64-1 base units per epoch")
    if read_account(chain, "Provider", dep.program.provider_address(provider)) is None:
        raise OpError(f"provider {provider} is not registered")
    return send(chain, wallet, [dep.program.set_channel_limit(wallet=wallet.pubkey(), provider_wallet=provider,
                                                              limit_per_epoch=limit_per_epoch)], what="set limit")


def open_channel(chain: RpcChain, dep: Deployment, wallet: Keypair, provider: Pubkey,
                 limit_per_epoch: int = U64_MAX) -> str:
    """The customer's on-chain consent to be billed by `provider` (nothing settles on a pair it never
    opened), with a per-epoch cap (default none)."""
    if read_account(chain, "Channel", dep.program.channel_address(wallet.pubkey(), provider)) is not None:
        raise OpError(f"the channel with provider {provider} is already open: use set-limit to change its cap")
    return set_limit(chain, dep, wallet, provider, limit_per_epoch)


def open_channels(chain: RpcChain, dep: Deployment, wallet: Keypair, providers: list[Pubkey],
                  limit_per_epoch: int = U64_MAX) -> list[str]:
    """open_channel for several providers, a few per transaction (each adds two accounts)."""
    sigs = []
    for i in range(0, len(providers), _CHANNELS_PER_TX):
        chunk = providers[i:i + _CHANNELS_PER_TX]
        sigs.append(send(chain, wallet, [dep.program.open_channel(wallet=wallet.pubkey(), provider_wallet=p,
                                                                  limit_per_epoch=limit_per_epoch) for p in chunk],
                         what=f"open {len(chunk)} channel(s)"))
    return sigs



def auto_top_up(chain: RpcChain, dep: Deployment, wallet: Keypair, threshold: int, amount: int, allowance: int) -> str:
    """Configure the top-up and grant the Config PDA an SPL allowance on the customer's token account."""
    _positive("amount", amount)
    if threshold < 0 or allowance < 0:
        raise OpError("threshold and allowance must not be negative")
    src = token.ata(wallet.pubkey(), dep.mint_key)
    ixs = [dep.program.configure_auto_top_up(wallet=wallet.pubkey(), source=src, threshold=threshold, amount=amount),
           token.approve_ix(wallet.pubkey(), src, dep.program.config_address(), dep.mint_key, allowance, dep.decimals)]
    return send(chain, wallet, ixs, what="configure auto top-up")


@dataclass
class CustomerStatus:
    wallet: str
    registered: bool
    escrow: int
    wallet_balance: int  # base units in the wallet's token account (not in escrow)
    withdrawal_requested: int
    total_deposited: int
    total_settled: int
    top_up_threshold: int
    top_up_amount: int


def onchain_customer_status(chain: RpcChain, dep: Deployment, wallet: Pubkey) -> CustomerStatus:
    c = read_account(chain, "Customer", dep.program.customer_address(wallet))
    tokens = chain.token_balance(token.ata(wallet, dep.mint_key)) or 0
    if c is None:
        return CustomerStatus(str(wallet), False, 0, tokens, 0, 0, 0, 0, 0)
    return CustomerStatus(str(wallet), True, chain.token_balance(dep.program.escrow_address(wallet)) or 0, tokens,
                          int(c.withdrawal_amount), int(c.total_deposited), int(c.total_settled),
                          int(c.top_up_threshold), int(c.top_up_amount))


# ---- provider -----------------------------------------------------------------------------------------

def register_provider(chain: RpcChain, dep: Deployment, wallet: Keypair) -> str:
    if read_account(chain, "Provider", dep.program.provider_address(wallet.pubkey())) is not None:
        raise OpError(f"provider {wallet.pubkey()} is already registered")
    payout = token.ata(wallet.pubkey(), dep.mint_key)
    return send(chain, wallet, [token.create_ata_ix(wallet.pubkey(), wallet.pubkey(), dep.mint_key),
                                dep.program.register_provider(wallet=wallet.pubkey(), payout=payout, mint=dep.mint_key)],
                what="register provider")


def stake(chain: RpcChain, dep: Deployment, wallet: Keypair, amount: int) -> str:
    _positive("amount", amount)
    src = _funded_source(chain, dep, wallet.pubkey(), amount, "stake")
    return send(chain, wallet, [dep.program.stake(wallet=wallet.pubkey(), source=src,
                                                  mint=dep.mint_key, amount=amount)], what="stake")


def request_unstake(chain: RpcChain, dep: Deployment, wallet: Keypair, amount: int) -> str:
    _positive("amount", amount)
    return send(chain, wallet, [dep.program.request_unstake(wallet=wallet.pubkey(), amount=amount)],
                what="request unstake")


def withdraw_stake(chain: RpcChain, dep: Deployment, wallet: Keypair) -> str:
    return send(chain, wallet, [dep.program.withdraw_stake(wallet=wallet.pubkey(),
                                                           destination=token.ata(wallet.pubkey(), dep.mint_key),
                                                           mint=dep.mint_key)], what="withdraw stake")


def claim(chain: RpcChain, dep: Deployment, wallet: Keypair, epoch: int) -> str:
    p = read_account(chain, "Provider", dep.program.provider_address(wallet.pubkey()))
    if p is None:
        raise OpError(f"provider {wallet.pubkey()} is not registered")
    return send(chain, wallet, [dep.program.claim_rewards(wallet=wallet.pubkey(), epoch=epoch, payout=p.payout,
                                                          mint=dep.mint_key)], what=f"claim epoch {epoch}")


def set_payout(chain: RpcChain, dep: Deployment, wallet: Keypair) -> str:
    """Point settlements and rewards at the provider's associated token account (created if missing):
    how a provider whose payout account was closed or frozen gets paid again."""
    if read_account(chain, "Provider", dep.program.provider_address(wallet.pubkey())) is None:
        raise OpError(f"provider {wallet.pubkey()} is not registered")
    payout = token.ata(wallet.pubkey(), dep.mint_key)
    return send(chain, wallet, [token.create_ata_ix(wallet.pubkey(), wallet.pubkey(), dep.mint_key),
                                dep.program.set_payout(wallet=wallet.pubkey(), payout=payout)], what="set payout")


def contest_slash(chain: RpcChain, dep: Deployment, wallet: Keypair, index: int, evidence: str) -> str:
    return send(chain, wallet, [dep.program.contest_slash(wallet=wallet.pubkey(), index=index,
                                                          evidence_hash=evidence_hash(evidence))],
                what=f"contest slash {index}")


@dataclass
class ProviderStatus:
    wallet: str
    registered: bool
    stake: int
    payout_balance: int  # base units in the payout token account
    unstake_requested: int
    pending_slash: int
    slash_count: int
    unclaimed_epochs: int  # epochs with revenue not claimed, the open one included when it has revenue
    total_revenue: int
    last_revenue_epoch: int = 0


def provider_status(chain: RpcChain, dep: Deployment, wallet: Pubkey) -> ProviderStatus:
    p = read_account(chain, "Provider", dep.program.provider_address(wallet))
    if p is None:
        return ProviderStatus(str(wallet), False, 0, 0, 0, 0, 0, 0, 0)
    return ProviderStatus(str(wallet), True, chain.token_balance(dep.program.stake_address(wallet)) or 0,
                          chain.token_balance(p.payout) or 0, int(p.unstake_amount), int(p.pending_slash),
                          int(p.slash_count), int(p.unclaimed_epochs), int(p.total_revenue),
                          int(p.last_revenue_epoch))


# ---- operator -----------------------------------------------------------------------------------------

def set_fees(chain: RpcChain, dep: Deployment, admin: Keypair, fee_bps: int | None, burn_bps: int | None) -> str:
    return send(chain, admin, [dep.program.update_config(admin=admin.pubkey(), fee_bps=fee_bps, burn_bps=burn_bps)],
                what="update fees")


def set_treasury(chain: RpcChain, dep: Deployment, admin: Keypair, treasury: Pubkey) -> str:
    """Send fees to another token account of the mint (not a program vault) from now on."""
    return send(chain, admin, [dep.program.set_treasury(admin=admin.pubkey(), treasury=treasury)], what="set treasury")


def set_paused(chain: RpcChain, dep: Deployment, admin: Keypair, paused: bool) -> str:
    return send(chain, admin, [dep.program.update_config(admin=admin.pubkey(), paused=paused)],
                what="pause" if paused else "unpause")


def fund_epoch(chain: RpcChain, dep: Deployment, funder: Keypair, epoch: int, amount: int) -> str:
    _positive("amount", amount)
    src = _funded_source(chain, dep, funder.pubkey(), amount, f"fund epoch {epoch}")
    return send(chain, funder, [dep.program.fund_epoch(funder=funder.pubkey(), epoch=epoch, source=src,
                                                       mint=dep.mint_key, amount=amount)], what=f"fund epoch {epoch}")


def propose_slash(chain: RpcChain, dep: Deployment, admin: Keypair, provider: Pubkey, amount: int, evidence: str,
                  beneficiary: Pubkey | None = None) -> tuple[str, int]:
    _positive("amount", amount)
    p = read_account(chain, "Provider", dep.program.provider_address(provider))
    if p is None:
        raise OpError(f"provider {provider} is not registered")
    index = int(p.slash_count)
    sig = send(chain, admin, [dep.program.propose_slash(admin=admin.pubkey(), provider_wallet=provider, index=index,
                                                        amount=amount, evidence_hash=evidence_hash(evidence),
                                                        beneficiary=beneficiary or Pubkey.from_string(dep.treasury))],
               what="propose slash")
    return sig, index


def resolve_slash(chain: RpcChain, dep: Deployment, arbiter: Keypair, provider: Pubkey, index: int, uphold: bool) -> str:
    return send(chain, arbiter, [dep.program.resolve_slash(arbiter=arbiter.pubkey(), provider_wallet=provider,
                                                           index=index, uphold=uphold)], what=f"resolve slash {index}")


def execute_slash(chain: RpcChain, dep: Deployment, payer: Keypair, provider: Pubkey, index: int) -> str:
    s = read_account(chain, "Slash", dep.program.slash_address(provider, index))
    if s is None:
        raise OpError(f"slash {index} of provider {provider} does not exist")
    return send(chain, payer, [dep.program.execute_slash(provider_wallet=provider, index=index,
                                                         beneficiary=s.beneficiary, mint=dep.mint_key)],
                what=f"execute slash {index}")


def slash_info(chain: RpcChain, dep: Deployment, provider: Pubkey, index: int) -> Any:
    return read_account(chain, "Slash", dep.program.slash_address(provider, index))
