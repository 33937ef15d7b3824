"""Account and event bytes -> the auditor's views, through the program's generated decoders
(contracts/client/gen, generated from the program source). This is the one module that knows field names of the program's state."""
from __future__ import annotations

import hashlib
from typing import Any

from solders.pubkey import Pubkey

from contracts.client import DecodeError, decode_account_as

from .errors import ChainReadError
from .views import (BatchView, ChannelView, ConfigAccountView, ConfigChange, CustomerView, ProviderEpochView,
                    ProviderView, SettlementView, SlashEvent, SlashView)

ZERO_KEY = Pubkey(bytes(32))


def account_discriminator(name: str) -> bytes:
    """Anchor's account discriminator (used for getProgramAccounts memcmp filters)."""
    return hashlib.sha256(f"account:{name}".encode()).digest()[:8]


def _account(name: str, data: bytes, address: Any) -> Any:
    try:
        return decode_account_as(name, bytes(data))
    except DecodeError as e:
        raise ChainReadError(f"account {address}: not a valid {name} account ({e})") from None


def _b(v: Any) -> bytes:
    return bytes(v)


def _key(k: Pubkey) -> Pubkey | None:
    return None if k == ZERO_KEY else k


# --- views ----------------------------------------------------------------------------------------------

def config_view(data: bytes, address: Any = "") -> ConfigAccountView:
    a = _account("Config", data, address)
    n = min(a.meter_count, len(a.meters))
    meters = tuple((m.key, m.since_version) for m in a.meters[:n])
    return ConfigAccountView(version=a.version, fee_bps=a.fee_bps, burn_bps=a.burn_bps, meters=meters,
                             batch_count=a.batch_count, genesis_ts=a.genesis_ts, epoch_length=a.epoch_length,
                             paused=bool(a.paused), decimals=a.decimals)


def batch_view(data: bytes, address: Any = "") -> BatchView:
    a = _account("Batch", data, address)
    return BatchView(index=a.index, root=_b(a.root), count=a.count, total=a.total, meter=a.meter,
                     config_version=a.config_version, address=str(address))


def closed_batch_view(posted: Any, signature: str, address: Any = "") -> BatchView:
    """A closed batch as its post_batch transaction's BatchPosted event recorded it."""
    return BatchView(index=posted.index, root=_b(posted.root), count=posted.count, total=posted.total,
                     meter=posted.meter, config_version=posted.config_version, address=str(address),
                     posted_in=signature, closed=True)


def channel_view(data: bytes, address: Any = "") -> ChannelView:
    a = _account("Channel", data, address)
    return ChannelView(customer=a.customer, provider=a.provider, settled_cumulative=a.settled_amount,
                       last_seq=a.last_seq, last_receipt_id=_b(a.last_receipt_id), address=str(address))


def epoch_fields(data: bytes, address: Any = "") -> dict[str, int]:
    a = _account("Epoch", data, address)
    return {"number": a.number, "reward_pool": a.reward_pool, "total_revenue": a.total_revenue,
            "claimed": a.claimed}


def provider_epoch_view(data: bytes, address: Any = "") -> tuple[int, ProviderEpochView]:
    a = _account("ProviderEpoch", data, address)
    return a.epoch, ProviderEpochView(a.provider, a.revenue, bool(a.claimed), a.reward)


def config_change(name: str, ev: Any, signature: str = "", slot: int | None = None,
                  event_index: int = 0) -> ConfigChange | None:
    if name == "Initialized":
        return ConfigChange(1, ev.fee_bps, ev.burn_bps, ev.meter, None, signature, slot, event_index)
    if name == "ConfigUpdated":
        return ConfigChange(ev.version, ev.fee_bps, ev.burn_bps, _key(ev.added_meter), _key(ev.removed_meter),
                            signature, slot, event_index)
    return None


def settlement_view(ev: Any, signature: str, slot: int | None,
                    config_version: int | tuple[int, ...] | None) -> SettlementView:
    return SettlementView(signature=signature, customer=ev.customer, provider=ev.provider, seq=ev.seq,
                          receipt_id=_b(ev.receipt_id), cumulative=ev.cum_amount, moved=ev.amount, fee=ev.fee,
                          burn=ev.burned, provider_amount=ev.provider_amount, config_version=config_version,
                          epoch=ev.epoch, batch=ev.batch_index, slot=slot)


def provider_view(data: bytes, address: Any = "") -> ProviderView:
    a = _account("Provider", data, address)
    return ProviderView(wallet=a.wallet, pending_slash=a.pending_slash, slash_count=a.slash_count,
                        total_revenue=a.total_revenue, address=str(address))


def slash_view(data: bytes, address: Any = "") -> SlashView:
    a = _account("Slash", data, address)
    return SlashView(provider=a.provider, index=a.index, amount=a.amount, beneficiary=a.beneficiary, state=a.state,
                     contest_deadline=a.contest_deadline, address=str(address))


_SLASH_EVENTS = {"SlashProposed": "proposed", "SlashContested": "contested", "SlashResolved": "resolved",
                 "SlashExecuted": "executed"}


def slash_event(name: str, ev: Any, signature: str, block_time: int | None) -> SlashEvent | None:
    kind = _SLASH_EVENTS.get(name)
    if kind is None:
        return None
    return SlashEvent(kind, ev.index, signature, block_time,
                      amount=getattr(ev, "amount", None), beneficiary=getattr(ev, "beneficiary", None),
                      contest_deadline=getattr(ev, "contest_deadline", None), upheld=getattr(ev, "upheld", None),
                      resolve_deadline=getattr(ev, "resolve_deadline", None), lapsed=getattr(ev, "lapsed", None))


def customer_view(data: bytes, address: Any = "") -> CustomerView:
    a = _account("Customer", data, address)
    return CustomerView(wallet=a.wallet, escrow=a.escrow, total_deposited=a.total_deposited,
                        total_settled=a.total_settled, address=str(address))


def price_book_sha256(data: bytes, address: Any = "") -> bytes:
    """The sha256 a PriceBook account commits (publish_price_book)."""
    return _b(_account("PriceBook", data, address).sha256)
