"""The API fuzzer over the master data records (the set-up and the groups are in conftest.py)."""

from __future__ import annotations

from tests.api.conftest import CHECKS, MASTER_DATA, fuzzed

schema = fuzzed().include(path_regex=MASTER_DATA)


@schema.parametrize()
def test_no_input_makes_a_server_error_or_breaks_the_contract(case):
    case.call_and_validate(checks=CHECKS)
