"""How the command line shows usage quantities and receipts: one place for the meter's own commands (which
read its database) and the role commands (which read the signed API)."""
from __future__ import annotations
from contracts.amounts import tokens
from contracts.cli_output import local_time


def quantity_text(family: str, quantity: int) -> str:
    if family == "gpu":
        return f"{quantity / 3_600_000:.3f} GPU-hours"
    if family == "storage":
        return f"{quantity / 1000 / 3600 / (1 << 30):.6f} GiB-hours"
    return f"{quantity} bytes"


def receipt_line(v: dict, decimals: int | None = None) -> str:
    """One line of a receipt view (metering/api/views.receipt_view): the receipt id whole (what `solmeter audit
    receipt` takes), the period in local time, amounts in tokens when the mint's decimals are known."""
    def amount(units: int) -> str:
        return f"{tokens(units, decimals)} tokens" if decimals is not None else f"{units} base units"

    return (f"{v['receipt_id']}  {v['customer'][:8]}.. {v['provider'][:8]}.. seq {v['seq']:>5} "
            f"period {local_time(v['period_start'])} .. {local_time(v['period_end'])} "
            f"cumulative {amount(v['cum_amount'])} (+{amount(v['new_amount'])}) batch "
            f"{v['batch']['id'] if v.get('batch') else '-'}")
