"""Who a signed-in wallet is (its roles, read from the chain) and what its session may read.

Roles: `operator` (the program's admin key), `provider` (a Provider account exists), `customer` (a
Customer account exists); one wallet may hold several. The read rule is the API's: a customer reads its
own data, a provider its own, the operator everything; the auditor view is public.
"""
from __future__ import annotations

from solders.pubkey import Pubkey

from ledger.ops.deployment import read_account

from .sessions import Session

OPERATOR, PROVIDER, CUSTOMER = "operator", "provider", "customer"


def roles_of(chain, dep, wallet: str) -> frozenset[str]:
    key = Pubkey.from_string(wallet)
    out = set()
    if wallet == dep.admin:
        out.add(OPERATOR)
    if read_account(chain, "Provider", dep.program.provider_address(key)) is not None:
        out.add(PROVIDER)
    if read_account(chain, "Customer", dep.program.customer_address(key)) is not None:
        out.add(CUSTOMER)
    return frozenset(out)


def refusal(session: Session | None, view: str, subject: str | None = None) -> tuple[int, str] | None:
    """None when `session` may read `view` (customer/provider data of `subject`, or the operator's);
    else (HTTP status, why)."""
    if session is None:
        return 401, "sign in with your wallet to see this view"
    if OPERATOR in session.roles:
        return None
    if view == OPERATOR:
        return 403, f"{session.wallet} is not the operator: only the program's admin key reads the operator view"
    if view in (CUSTOMER, PROVIDER) and subject == session.wallet and view in session.roles:
        return None
    if view in (CUSTOMER, PROVIDER) and subject == session.wallet:
        return 403, f"{session.wallet} is not a registered {view}"
    return 403, f"a {view}'s data is readable by that {view} and the operator only, not by {session.wallet}"
