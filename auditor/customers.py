"""Pure checks of a customer's escrow: what the program recorded as deposited and settled is what its
events say, and the escrow holds what deposits minus withdrawals minus settlements leave."""
from __future__ import annotations

from .result import Check, passed, verdict
from .views import CustomerView


def check_customer(c: CustomerView, deposited: int, withdrawn: int, settled: int, escrow_balance: int) -> list[Check]:
    """`deposited` (Deposited + ToppedUp), `withdrawn` (Withdrawn) and `settled` (Settled) are summed from the
    program's events; `escrow_balance` is the escrow token account's amount."""
    out = [
        verdict("customer.deposits", c.total_deposited == deposited,
                f"total deposited {c.total_deposited} = the deposits and top-ups on-chain",
                f"the customer account says {c.total_deposited} deposited, the deposit and top-up transactions "
                f"add up to {deposited}"),
        verdict("customer.settled", c.total_settled == settled,
                f"total settled {c.total_settled} = the settlements on-chain",
                f"the customer account says {c.total_settled} settled, the settlements add up to {settled}"),
    ]
    expected = deposited - withdrawn - settled
    if escrow_balance == expected:
        out.append(passed("customer.escrow", f"the escrow holds {escrow_balance} = deposited {deposited} - withdrawn "
                                             f"{withdrawn} - settled {settled}"))
    elif escrow_balance > expected:
        # tokens can be sent to any token account directly, outside the program: more is not a loss
        out.append(passed("customer.escrow", f"the escrow holds {escrow_balance}, {escrow_balance - expected} more "
                                             f"than deposited - withdrawn - settled ({expected}): tokens sent to "
                                             "it directly, outside the program"))
    else:
        out.append(verdict("customer.escrow", False, "",
                           f"the escrow holds {escrow_balance}, {expected - escrow_balance} less than deposited "
                           f"{deposited} - withdrawn {withdrawn} - settled {settled} = {expected}"))
    return out
