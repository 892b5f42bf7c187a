"""Alembic migrations of GenomeGate's schema (every area's tables)."""
