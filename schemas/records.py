"""Contracts common to every kind of record."""

from pydantic import BaseModel


class ImportResult(BaseModel):
    created: int
    updated: int
    rows: int
