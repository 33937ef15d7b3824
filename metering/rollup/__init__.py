"""Pure rollup: events of one lease / bucket / egress resource -> billable quantities and gaps; prices
and cumulative line items. No I/O here: receipts.py feeds these functions from the database."""
from .usage import Gap, KeyUsage, Point, egress_usage, gpu_lease_usage, key_usage, rollup_channels, storage_usage
from .pricing import DEFAULT_PRICE_BOOK, Line, Price, PriceBook, price_lines

__all__ = ["Gap", "KeyUsage", "Point", "egress_usage", "gpu_lease_usage", "key_usage", "rollup_channels",
           "storage_usage", "DEFAULT_PRICE_BOOK", "Line", "Price", "PriceBook", "price_lines"]
