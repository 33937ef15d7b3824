"""PDA seeds of the billing program: the single Python implementation.

Mirrored by `contracts/program/src/pda.rs`. Integers in seeds are u64 little-endian. Every account stores
its own bump; instructions take bumps from account data and check them with create_program_address, never
search for them on-chain. Token vaults are SPL token accounts at PDAs whose token authority is the Config PDA.
"""
from __future__ import annotations

from solders.pubkey import Pubkey

CONFIG = b"config"
CUSTOMER = b"customer"
ESCROW = b"escrow"
PROVIDER = b"provider"
STAKE = b"stake"
CHANNEL = b"channel"
BATCH = b"batch"
EPOCH = b"epoch"
PROVIDER_EPOCH = b"provider_epoch"
SLASH = b"slash"
REWARDS = b"rewards"
PRICE_BOOK = b"price_book"


def _u64(n: int) -> bytes:
    return n.to_bytes(8, "little")


def seeds_config() -> list[bytes]:
    return [CONFIG]


def seeds_customer(wallet: Pubkey) -> list[bytes]:
    return [CUSTOMER, bytes(wallet)]


def seeds_escrow(wallet: Pubkey) -> list[bytes]:
    return [ESCROW, bytes(wallet)]


def seeds_provider(wallet: Pubkey) -> list[bytes]:
    return [PROVIDER, bytes(wallet)]


def seeds_stake(wallet: Pubkey) -> list[bytes]:
    return [STAKE, bytes(wallet)]


def seeds_channel(customer: Pubkey, provider: Pubkey) -> list[bytes]:
    return [CHANNEL, bytes(customer), bytes(provider)]


def seeds_batch(index: int) -> list[bytes]:
    return [BATCH, _u64(index)]


def seeds_epoch(epoch: int) -> list[bytes]:
    return [EPOCH, _u64(epoch)]


def seeds_provider_epoch(provider: Pubkey, epoch: int) -> list[bytes]:
    return [PROVIDER_EPOCH, bytes(provider), _u64(epoch)]


def seeds_slash(provider: Pubkey, index: int) -> list[bytes]:
    return [SLASH, bytes(provider), _u64(index)]


def seeds_rewards() -> list[bytes]:
    return [REWARDS]


def seeds_price_book(version: int) -> list[bytes]:
    return [PRICE_BOOK, _u64(version)]


def find(seeds: list[bytes], program_id: Pubkey) -> tuple[Pubkey, int]:
    return Pubkey.find_program_address(seeds, program_id)


def config(program_id: Pubkey) -> tuple[Pubkey, int]:
    return find(seeds_config(), program_id)


def customer(program_id: Pubkey, wallet: Pubkey) -> tuple[Pubkey, int]:
    return find(seeds_customer(wallet), program_id)


def escrow(program_id: Pubkey, wallet: Pubkey) -> tuple[Pubkey, int]:
    return find(seeds_escrow(wallet), program_id)


def provider(program_id: Pubkey, wallet: Pubkey) -> tuple[Pubkey, int]:
    return find(seeds_provider(wallet), program_id)


def stake(program_id: Pubkey, wallet: Pubkey) -> tuple[Pubkey, int]:
    return find(seeds_stake(wallet), program_id)


def channel(program_id: Pubkey, customer_wallet: Pubkey, provider_wallet: Pubkey) -> tuple[Pubkey, int]:
    return find(seeds_channel(customer_wallet, provider_wallet), program_id)


def batch(program_id: Pubkey, index: int) -> tuple[Pubkey, int]:
    return find(seeds_batch(index), program_id)


def epoch(program_id: Pubkey, n: int) -> tuple[Pubkey, int]:
    return find(seeds_epoch(n), program_id)


def provider_epoch(program_id: Pubkey, provider_wallet: Pubkey, n: int) -> tuple[Pubkey, int]:
    return find(seeds_provider_epoch(provider_wallet, n), program_id)


def slash(program_id: Pubkey, provider_wallet: Pubkey, index: int) -> tuple[Pubkey, int]:
    return find(seeds_slash(provider_wallet, index), program_id)


def rewards(program_id: Pubkey) -> tuple[Pubkey, int]:
    return find(seeds_rewards(), program_id)


def price_book(program_id: Pubkey, version: int) -> tuple[Pubkey, int]:
    return find(seeds_price_book(version), program_id)
