"""Inventory: the append-only stock ledger, the on-hand projection kept in the same transaction, counts."""
