"""The API fuzzer over the master data records (the set-up and the groups are in conftest.py)."""

from __future__ import annotations

from tests.api.conftest import MASTER_DATA, call_and_validate, fuzzed

schema = fuzzed().include(path_regex=MASTER_DATA)


@schema.parametrize()
def test_no_input_makes_a_server_error_or_breaks_the_contract(case):
    call_and_validate(case)
