"""The API fuzzer over everything else: stock, purchasing, production, quality, shipping, labels, devices and sync (the set-up and the groups are in conftest.py)."""

from __future__ import annotations

from tests.api.conftest import CSV, MASTER_DATA, OFFICE, call_and_validate, fuzzed

schema = fuzzed().exclude(path_regex=f"{MASTER_DATA}|{CSV}|{OFFICE}")


@schema.parametrize()
def test_no_input_makes_a_server_error_or_breaks_the_contract(case):
    call_and_validate(case)
