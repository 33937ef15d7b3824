"""How the command line shows usage quantities and receipts: one place for the meter's own commands (which
read its database) and the role commands (which read the signed API)."""
from __future__ import annotations


def quantity_text(family: str, quantity: int) -> str:
    if family == "gpu":
        return f"{quantity / 3_600_000:.3f} GPU-hours"
    if family == "storage":
        return f"{quantity / 1000 / 3600 / (1 << 30):.6f} GiB-hours"
    return f"{quantity} bytes"


def receipt_line(v: dict) -> str:
    """One line of a receipt view (metering/api/views.receipt_view)."""
    return (f"{v['customer'][:8]}.. {v['provider'][:8]}.. seq {v['seq']:>5} period {v['period_start']}-"
            f"{v['period_end']} cum_amount {v['cum_amount']} (+{v['new_amount']}) batch "
            f"{v['batch']['id'] if v.get('batch') else '-'} id {v['receipt_id'][:16]}..")
