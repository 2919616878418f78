"""The API as a contract: every documented operation fuzzed against its schema (first in a run: it is the longest single test)."""
