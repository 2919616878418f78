"""Pydantic contracts shared by the server, the sync clients and the PWA (exported as JSON Schema)."""
