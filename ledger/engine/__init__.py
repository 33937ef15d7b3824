"""The settlement engine: intents recorded before anything is sent and resolved from the chain after a
crash, the program's crank actions, the chain follower that feeds the ledger, pauses, reconciliation, and
the jobs on APScheduler behind job leases (one replica per run)."""
