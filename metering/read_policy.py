"""Who may read what from the meter: the one authorization rule of the read API, pure (no I/O).

The edges (the API's signed-request check, the dashboard's browser sessions) establish WHO is asking
(`Principal`: a wallet public key and the roles the meter knows it by) and WHAT is asked for (`Resource`);
`may_read` decides. The one fact that needs the database — whether a provider serves a customer — is
passed in as a predicate and asked only when the answer depends on it.

Roles:
- every wallet is a CUSTOMER of itself: it reads its own usage, receipts and status, and nothing of others;
- a PROVIDER reads its own channels: usage it reported (the `provider` filter set to its key), receipts
  of its channels (its customer list); a registered one also the status of a customer it serves;
- the OPERATOR (a meter admin key) reads everything.
What an auditor needs is PUBLIC by design (`PUBLIC_KINDS`): anyone, signed or not, reads it.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Callable, Iterable, Optional

from .events.envelope import _pubkey


class Role(Enum):
    CUSTOMER = "customer"
    PROVIDER = "provider"
    OPERATOR = "operator"


class Kind(Enum):
    # private: the parties of the data and the operator
    USAGE = "usage"                        # live usage and the samples behind it
    RECEIPTS = "receipts"                  # receipt listings of a customer, a provider or a channel
    CUSTOMER_STATUS = "customer status"    # paused flag, billed total, balance, runway
    OPERATIONS = "operations"              # the engine's jobs, intents, reconciliation (the operator's view)
    EVIDENCE = "evidence"                  # a receipt's provider-signed events (contracts/evidence.py)
    # public: what an auditor checks against the chain
    RECEIPT = "receipt"                    # one receipt by id, with signature, batch and proof
    BATCHES = "batches"                    # Merkle batches and their receipt ids
    LEASE = "lease"                        # a signed lease (customer consent)
    PRICES = "price book"
    METER = "meter"                        # the meter's key and parameters, health, metrics


PUBLIC_KINDS = frozenset({Kind.RECEIPT, Kind.BATCHES, Kind.LEASE, Kind.PRICES, Kind.METER})


@dataclass(frozen=True)
class Principal:
    """A wallet whose signature (or signed-in session) the edge has verified."""
    pubkey: str
    operator: bool = False  # one of the meter's admin keys
    provider: bool = False  # a provider registered with the meter
    consent_from: Optional[str] = None  # a customer whose signed consent for this reader the edge verified

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset({Role.CUSTOMER} | ({Role.PROVIDER} if self.provider else set())
                         | ({Role.OPERATOR} if self.operator else set()))


def admin_keys(keys: Iterable[str]) -> frozenset[str]:
    """The operator's keys as configured (`--admin`), each checked; a ValueError names the one that is
    not a base58 public key."""
    out = set()
    for k in keys:
        try:
            out.add(_pubkey(k.strip()))
        except ValueError:
            raise ValueError(f"--admin {k!r} is not a base58 Solana public key") from None
    return frozenset(out)


def principal_for(pubkey: str, *, admins: frozenset[str] | set[str], is_provider: bool) -> Principal:
    return Principal(pubkey, operator=pubkey in admins, provider=is_provider)


@dataclass(frozen=True)
class Resource:
    kind: Kind
    customer: Optional[str] = None  # whose data (None: not narrowed to one customer)
    provider: Optional[str] = None  # which provider's channels (None: all of the customer's)

    def describe(self) -> str:
        who = [f"{k} {v}" for k, v in (("customer", self.customer), ("provider", self.provider)) if v]
        return self.kind.value + (f" of {' and '.join(who)}" if who else "")


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""
    field: Optional[str] = None   # the request parameter that asks for what is not allowed
    unauthenticated: bool = False  # refused only because nobody signed: 401, not 403


ALLOW = Decision(True)
Serves = Callable[[str, str], bool]  # (provider, customer) -> does this provider serve this customer?


def _never(_provider: str, _customer: str) -> bool:
    return False


def may_read(who: Optional[Principal], res: Resource, serves: Serves = _never) -> Decision:
    """May `who` (None: an unsigned request) read `res`? `serves` is asked only for a provider reading the
    status of a customer that is not itself."""
    if res.kind in PUBLIC_KINDS:
        return ALLOW
    if who is None:
        return Decision(False, f"{res.describe()} is private: sign the request with your wallet key",
                        unauthenticated=True)
    if who.operator:
        return ALLOW
    me = who.pubkey
    if res.kind is Kind.CUSTOMER_STATUS:
        if res.customer == me or (who.provider and res.customer is not None and serves(me, res.customer)):
            return ALLOW
        why = ("a provider reads the status of the customers it serves only" if who.provider
               else "a customer reads its own status only")
        return _deny(who, res, "customer", why)
    if res.kind in (Kind.USAGE, Kind.RECEIPTS):
        # a party to the data is named by its key in the request: the signature proved it holds that key
        if me in (res.customer, res.provider):
            return ALLOW
        if res.customer is not None and res.customer == who.consent_from:
            return ALLOW  # an auditor holding this customer's signed consent
        if res.provider is not None:
            return _deny(who, res, "provider", "a provider reads its own channels only" if who.provider else
                         "a channel's data is served to its customer, its provider, the operator, or a reader "
                         "holding the customer's signed consent")
        return _deny(who, res, "customer", "a customer reads its own data only; a provider its own channels "
                                           "(set provider to your key)")
    if res.kind is Kind.EVIDENCE:
        # the customer it concerns, the channel's provider (it signed them), or a reader holding the customer's
        # signed consent (an auditor); never another customer, nor another channel's provider
        if res.customer is not None and me in (res.customer, res.provider):
            return ALLOW
        if res.customer is not None and who.consent_from == res.customer:
            return ALLOW
        return _deny(who, res, "customer", "a receipt's evidence is served to its customer, its provider, and a "
                                           "reader holding the customer's signed consent (X-Solmeter-Consent)")
    if res.kind is Kind.OPERATIONS:
        return _deny(who, res, None, "only the operator (a meter admin key) reads them")
    return _deny(who, res, None, "no rule grants it")


def _deny(who: Principal, res: Resource, field: Optional[str], why: str) -> Decision:
    return Decision(False, f"{who.pubkey} may not read {res.describe()}: {why}", field)
