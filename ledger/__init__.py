"""The off-chain store of solmeter: the SQLAlchemy engine and session factory, the declarative Base every
table derives from (metering's tables today, the double-entry ledger's later) and the Alembic migrations."""
