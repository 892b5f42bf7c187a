"""Jobs: one task queue and scheduler for all background work; the database is the ledger, the broker delivers."""
