"""Metering: signed usage ingestion, provider agents, rollup into cumulative receipts, Merkle batches and
the read API. Domain logic (events, rollup) is pure; I/O lives in ingest, receipts, batches, api, agents."""
