"""Who a signed-in wallet is, and what its session may read: the read API's own rule
(metering/read_policy.py), asked for every kind of data a view shows.

The principal is built as the API builds it for a signed request: operator when the wallet is one of the
meter's admin keys (`create_app(admins=...)`), provider when the meter has it registered. The roles shown
on the page (which tabs apply) add what the chain says: a Customer or Provider account of the wallet.
"""
from __future__ import annotations

from solders.pubkey import Pubkey

from ledger.ops.deployment import read_account
from metering.queries import serves
from metering.read_policy import Kind, Principal, Resource, may_read
from metering.registry import is_registered_provider

OPERATOR, PROVIDER, CUSTOMER = "operator", "provider", "customer"


def principal(app_state, conn, wallet: str) -> Principal:
    return Principal(wallet, operator=wallet in app_state.read_admins, provider=is_registered_provider(conn, wallet))


def roles_of(app_state, conn, chain, dep, wallet: str) -> frozenset[str]:
    key = Pubkey.from_string(wallet)
    who = principal(app_state, conn, wallet)
    out = {OPERATOR} if who.operator else set()
    if who.provider or read_account(chain, "Provider", dep.program.provider_address(key)) is not None:
        out.add(PROVIDER)
    if read_account(chain, "Customer", dep.program.customer_address(key)) is not None:
        out.add(CUSTOMER)
    return frozenset(out)


def view_resources(view: str, subject: str | None) -> list[Resource]:
    """Everything a view shows, as the read policy's resources."""
    if view == CUSTOMER:
        return [Resource(k, customer=subject) for k in (Kind.CUSTOMER_STATUS, Kind.RECEIPTS, Kind.USAGE)]
    if view == PROVIDER:
        return [Resource(k, provider=subject) for k in (Kind.RECEIPTS, Kind.USAGE)]
    return [Resource(Kind.OPERATIONS)]


def refusal(app_state, conn, wallet: str | None, view: str, subject: str | None = None) -> tuple[int, str] | None:
    """None when the signed-in `wallet` may read `view` (of `subject`); else (HTTP status, why)."""
    if wallet is None:
        return 401, "sign in with your wallet to see this view"
    who = principal(app_state, conn, wallet)
    for res in view_resources(view, subject):
        d = may_read(who, res, lambda provider, customer: serves(conn, provider, customer))
        if not d.allowed:
            return (401 if d.unauthenticated else 403), d.reason
    return None
