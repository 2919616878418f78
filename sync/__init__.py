"""Sync protocol v1: push (exactly once), pull (scoped change feed) and live pokes. Built in the sync issue."""
