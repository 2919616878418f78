"""The API fuzzer's set-up, shared by its files (one per group of operations, so the test workers run the groups side
by side): schemathesis drives every documented operation, logged in as admin, against a demo server of its own, with
every check it has: no input may make a 5xx; every response matches its documented status, schema, headers and
content type; methods a path does not have get 405 with a true `Allow`; a required header or the session left out is
refused; a deleted record stays gone and a created one is there; what the document admits is accepted and what it
excludes refused (below: how the server and the document agree)."""

from __future__ import annotations

import pytest
import schemathesis
import schemathesis.specs.openapi.checks  # noqa: F401 - registers the OpenAPI checks
from schemathesis.checks import CHECKS as ALL_CHECKS

from server.accounts.session_store import SESSION_COOKIE
from tests.clients import CSRF_COOKIE, office

# Fixed seed and derandomized generation: CI sees the same inputs on every run. Besides the random examples,
# schemathesis's coverage phase sends each operation its boundary cases (lengths just past a limit, missing and
# unknown fields, wrong methods); that phase found the display name longer than its column.
SEED = 20261125
# The coverage phase's boundary cases run in full whatever this number is. Past the first random examples of an
# operation, derandomized generation mostly sends more values of the same shapes (another string, another number
# inside the schema's bounds), which the coverage phase and the first examples already sent. The fuzzer runs once, on
# PostgreSQL (tests/conftest.py says why), with three random examples an operation.
EXAMPLES_PER_OPERATION = 3
# A user of the fuzzer's own: random role changes and deactivations hit it, never the admin the run is logged in as.
THROWAWAY_USER = "fuzz.target"
# Every check schemathesis has, the two that hold the document to its word among them:
# - negative_data_rejection: what the document's types exclude is refused. A JSON body is validated strictly as JSON
#   (server/openapi.py: no 0/1 for a boolean, no seconds for a date, no integer as text), and a decimal, which a
#   client may send as text or as a number, is documented as either with the same bounds and places.
# - positive_data_acceptance: what the document admits is never answered "malformed" (400). It states what a schema
#   can (distinct weekdays, a time zone's and a GTIN's shapes, a webhook URL's scheme, a non-empty scan, the keys of a
#   mapping); the rules it cannot (`valid_to` before `valid_from`, a shift ending when it starts, a GTIN's check
#   digit, a time zone the tz database lacks, where a webhook URL leads, an unknown event type, an unreadable scan)
#   are business rules, answered 422 with their code like any other.
CHECKS = ALL_CHECKS.get_all()
# What a well-formed request may be answered with: a business rule's refusal (422: an unknown reference, an order in
# the wrong state, a file that is no CSV) is not the contract refusing it; a malformed request is 400, never 422.
ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "422", "429"]
# The CSRF token goes with every request: its cookie here, its header in the configuration. The session cookie is
# not a header of ours but the credentials of the document's `sessionCookie` scheme, so that schemathesis can drop
# it (ignored_auth, and the coverage phase's requests without it) and see them refused.
_csrf: dict[str, str] = {}


def call_and_validate(case) -> None:
    case.call_and_validate(checks=CHECKS, cookies=dict(_csrf))


@pytest.fixture
def api_schema(request, fresh_server):
    # schemathesis 4.32 renames the test node through `_nodeid`, which pytest 9 no longer has.
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid
    server = fresh_server(demo=True)
    admin = office(server.url, "admin")
    admin.post(
        "/api/users",
        json={"username": THROWAWAY_USER, "display_name": "Fuzz target", "password": "fuzz-target-password", "roles": ["viewer"]},
    ).raise_for_status()
    _csrf.clear()
    _csrf[CSRF_COOKIE] = admin.cookies[CSRF_COOKIE]
    config = schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "headers": {"x-csrftoken": admin.cookies[CSRF_COOKIE]},
            "auth": {"openapi": {"sessionCookie": {"api_key": admin.cookies[SESSION_COOKIE]}}},
            "checks": {"positive_data_acceptance": {"expected-statuses": ACCEPTED}},
            "generation": {"max-examples": EXAMPLES_PER_OPERATION, "deterministic": True, "database": "none"},
            "parameters": {"path.username": THROWAWAY_USER},
        }
    )
    # The document is built on its first request, which on a busy machine outlasts schemathesis's 10 s read timeout.
    admin.get("/schema/openapi.json", timeout=120).raise_for_status()
    admin.close()
    schema = schemathesis.openapi.from_url(f"{server.url}/schema/openapi.json", config=config)
    schema.base_url = server.url
    return schema



# The groups of operations, by path: each group's file runs on a worker of its own. The last file takes every
# operation the others do not, so a new endpoint is fuzzed without anyone listing it.
MASTER_DATA = r"^/api/(locations|customers|units|sites|warehouses|work_centres|items|boms|routings|suppliers)(/|$)"
CSV = r"^/api/csv(/|$)"
OFFICE = (r"^/api/(sales-orders|quotes|price-lists|contracts|sales-policy|sales-payments|prices|webhooks|"
          r"webhook-deliveries|users|auth|audit)(/|$)|^/health$")


def fuzzed():
    """Every documented operation but logging out (it would end the session the fuzzer runs in)."""
    return schemathesis.pytest.from_fixture("api_schema").exclude(method="POST", path="/api/auth/logout")
