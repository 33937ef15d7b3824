"""The rollup rules live in contracts/rollup.py (one implementation, shared with the auditor, which recomputes
receipts' quantities from their evidence); re-exported here for the meter's modules."""
from contracts.rollup import (EGRESS, FAMILY, GPU_HEARTBEAT, GPU_STOP, STORAGE_SAMPLE, Carry, ChannelUsage, Gap,
                              KeyUsage, Point, Row, advance, carry_of, egress_usage, gpu_lease_usage, key_usage,
                              rollup_channels, storage_usage, usage_from)

__all__ = ["EGRESS", "FAMILY", "GPU_HEARTBEAT", "GPU_STOP", "STORAGE_SAMPLE", "Carry", "ChannelUsage", "Gap",
           "KeyUsage", "Point", "Row", "advance", "carry_of", "egress_usage", "gpu_lease_usage", "key_usage",
           "rollup_channels", "storage_usage", "usage_from"]
