"""The sales tests' customer: one of each test's own, on the terms its module sets."""

from __future__ import annotations

import pytest

from tests.factory import make_customer


@pytest.fixture
def customer(request: pytest.FixtureRequest, login, unique) -> str:
    """A customer of the test's own, with the terms the test module sets in CUSTOMER (a dict with its code's
    `prefix`, `name`, `credit_limit`, …): a module's figures depend on them."""
    terms = dict(request.module.CUSTOMER)
    return make_customer(login("sales"), unique(terms.pop("prefix")), **terms)
