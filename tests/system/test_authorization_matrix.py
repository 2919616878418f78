"""Who may call what: every documented API operation, asked by every role, by an enrolled device and by nobody.

The operations' permissions are written out here, in one table, by hand: the test does not read them off the guards
it checks. Which role holds which permission is the one table of grants the server itself uses
(server/accounts/permissions.py), so a change of grants is a change of that table, and a new endpoint fails here
until it is given its line.

A role that may call an operation gets anything but 401 and 403 (the guard let it through to the handler: a write
is sent a JSON list where an object belongs, so it ends in a 400 and changes nothing, and an action on a document
that does not exist in a 404); a role that may not gets 403 `forbidden`; nobody gets 401; a device token opens only
the device's own operations and the scan resolver, and an office session none of those.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from server.accounts.permissions import MASTER_RESOURCES, ROLE_PERMISSIONS, Role
from server.demo import DEMO_LOGINS
from tests.clients import anonymous, office
from tests.sync_fixtures import enrolled_device

ANYONE = "anyone"  # no login at all
SIGNED_IN = "signed in"  # any office user, whatever the role
DEVICE = "device"  # an enrolled device's token, and nothing else
SCAN = "scan.resolve or device"  # an office user who may resolve scans, or a device


def _master_data() -> dict[str, str]:
    table: dict[str, str] = {}
    for resource in MASTER_RESOURCES:
        read, write = f"{resource}.read", f"{resource}.write"
        table |= {
            f"GET /api/{resource}": read,
            f"GET /api/{resource}/{{code}}": read,
            f"POST /api/{resource}": write,
            f"PATCH /api/{resource}/{{code}}": write,
            f"POST /api/{resource}/{{code}}/archive": write,
            f"POST /api/{resource}/{{code}}/restore": write,
            f"GET /api/csv/{resource}": read,
            f"POST /api/csv/{resource}": write,
        }
    return table


PERMISSIONS: dict[str, str] = {
    # Signing in and out, and enrolling a tablet with a one-time code.
    "GET /health": ANYONE,
    "GET /api/auth/csrf": ANYONE,
    "POST /api/auth/login": ANYONE,
    "POST /api/sync/enroll": ANYONE,
    "GET /api/auth/me": SIGNED_IN,
    "PATCH /api/auth/me": SIGNED_IN,
    "POST /api/auth/logout": SIGNED_IN,
    "POST /api/auth/password": SIGNED_IN,
    # Users and the audit trail: the admin's.
    "GET /api/users": "users.read",
    "POST /api/users": "users.write",
    "PATCH /api/users/{username}": "users.write",
    "GET /api/roles": "users.read",
    "GET /api/roles/permissions": "users.read",
    "POST /api/roles": "users.write",
    "PATCH /api/roles/{code}": "users.write",
    "DELETE /api/roles/{code}": "users.write",
    "GET /api/departments": "users.read",
    "POST /api/departments": "users.write",
    "PATCH /api/departments/{code}": "users.write",
    "DELETE /api/departments/{code}": "users.write",
    "GET /api/audit": "audit.read",
    # Labels of items and locations: the permission to read the kind asked for, which every role has.
    "GET /api/labels/sheet.pdf": SIGNED_IN,
    "GET /api/labels/sscc/{file}": "shipping.read",
    "GET /api/labels/items/{file}": "items.read",
    "GET /api/labels/lots.png": "items.read",
    "GET /api/labels/lots.svg": "items.read",
    "GET /api/labels/lots.zpl": "items.read",
    "GET /api/locations/{code}/label.png": "locations.read",
    "GET /api/locations/{code}/label.svg": "locations.read",
    "GET /api/locations/{code}/label.zpl": "locations.read",
    # Devices.
    "POST /api/devices/enrolments": "devices.write",
    "GET /api/devices": "devices.read",
    "POST /api/devices/{device_id}/revoke": "devices.write",
    "PATCH /api/devices/{device_id}": "devices.write",
    "GET /api/sync/pull": DEVICE,
    "POST /api/sync/push": DEVICE,
    "POST /api/scan/resolve": SCAN,
    # Stock.
    "GET /api/stock": "stock.read",
    "GET /api/stock/alerts": "stock.read",
    "GET /api/stock/available/{item}": "stock.read",
    "GET /api/stock/fefo": "stock.read",
    "POST /api/stock/counts": "stock.write",
    "POST /api/stock/moves": "stock.write",
    "POST /api/stock/opening-balances": "stock.write",
    "POST /api/stock/receipts": "stock.write",
    # Purchasing.
    "GET /api/purchase-orders": "purchasing.read",
    "POST /api/purchase-orders": "purchasing.write",
    "GET /api/purchase-orders/{code}": "purchasing.read",
    "PATCH /api/purchase-orders/{code}": "purchasing.write",
    "POST /api/purchase-orders/{code}/approve": "purchasing.approve",
    "POST /api/purchase-orders/{code}/cancel": "purchasing.write",
    "POST /api/purchase-orders/{code}/close": "purchasing.write",
    "GET /api/purchase-orders/{code}/label.png": "purchasing.read",
    "GET /api/purchase-orders/{code}/label.svg": "purchasing.read",
    "GET /api/purchase-orders/{code}/label.zpl": "purchasing.read",
    "GET /api/purchase-orders/{code}/pdf": "purchasing.read",
    "GET /api/purchase-orders/{code}/messages": "purchasing.read",
    "POST /api/purchase-orders/{code}/messages": "purchasing.write",
    "POST /api/purchase-orders/{code}/confirmation": "purchasing.write",
    "GET /api/purchasing-policy": "purchasing.read",
    "PUT /api/purchasing-policy": "purchasing.policy",
    # Requests for quotation: everyone reads them; the buyer drafts, sends, records quotes and awards (the award's
    # draft purchase order is approved like any other).
    "GET /api/rfqs": "purchasing.read",
    "POST /api/rfqs": "purchasing.write",
    "POST /api/rfqs/from-plan": "purchasing.write",
    "GET /api/rfqs/{code}": "purchasing.read",
    "POST /api/rfqs/{code}/send": "purchasing.write",
    "POST /api/rfqs/{code}/cancel": "purchasing.write",
    "PUT /api/rfqs/{code}/quotes/{supplier}": "purchasing.write",
    "GET /api/rfqs/{code}/comparison": "purchasing.read",
    "POST /api/rfqs/{code}/award": "purchasing.write",
    "GET /api/rfqs/{code}/pdf": "purchasing.read",
    "GET /api/rfqs/{code}/messages": "purchasing.read",
    "POST /api/rfqs/{code}/messages": "purchasing.write",
    # The outbox: every message so far carries a purchase document.
    "GET /api/messages": "purchasing.read",
    "GET /api/messages/{message_id}/message.eml": "purchasing.read",
    "GET /api/messages/{message_id}/attachment.pdf": "purchasing.read",
    "POST /api/messages/{message_id}/retry": "purchasing.write",
    # Sales orders, their lifecycle, changes, payments and imports.
    "GET /api/sales-orders": "sales.read",
    "POST /api/sales-orders": "sales.write",
    "GET /api/sales-orders/late": "sales.read",
    "GET /api/sales-orders/{code}": "sales.read",
    "PUT /api/sales-orders/{code}": "sales.write",
    "GET /api/sales-orders/{code}/history": "sales.read",
    "GET /api/sales-orders/{code}/tracking": "sales.read",
    "POST /api/sales-orders/{code}/submit": "sales.write",
    "POST /api/sales-orders/{code}/promise": "sales.write",
    "POST /api/sales-orders/{code}/approve": "sales.approve",
    "POST /api/sales-orders/{code}/reject": "sales.approve",
    "POST /api/sales-orders/{code}/hold": "sales.write",
    "POST /api/sales-orders/{code}/release": "sales.write",
    "POST /api/sales-orders/{code}/cancel": "sales.write",
    "POST /api/sales-orders/{code}/cancel/preview": "sales.write",
    "POST /api/sales-orders/{code}/close": "sales.write",
    "POST /api/sales-orders/{code}/changes": "sales.write",
    "POST /api/sales-orders/{code}/changes/preview": "sales.write",
    "POST /api/sales-orders/{code}/payments": "sales.write",
    "POST /api/sales-orders/import": "sales.write",
    "POST /api/sales-payments/import": "sales.write",
    "GET /api/sales-policy": "sales.read",
    "PUT /api/sales-policy": "sales.policy",
    # Planning: everyone reads the plan; the planner runs it and firms production, the buyer firms purchases.
    "POST /api/mrp/runs": "planning.write",
    "GET /api/mrp/runs": "planning.read",
    "GET /api/mrp/runs/latest": "planning.read",
    "GET /api/mrp/runs/{run_id}": "planning.read",
    "GET /api/mrp/runs/{run_id}/planned-orders": "planning.read",
    "GET /api/mrp/runs/{run_id}/exceptions": "planning.read",
    "GET /api/mrp/runs/{run_id}/records/{item}": "planning.read",
    "GET /api/mrp/runs/{run_id}/pegging": "planning.read",
    "POST /api/mrp/runs/{run_id}/firm-production": "planning.write",
    "POST /api/mrp/runs/{run_id}/firm-purchases": "purchasing.write",
    "POST /api/schedules": "planning.write",
    "GET /api/schedules": "planning.read",
    "GET /api/schedules/accepted": "planning.read",
    "GET /api/schedules/{run_id}": "planning.read",
    "POST /api/schedules/{run_id}/accept": "planning.write",
    "POST /api/schedules/{run_id}/discard": "planning.write",
    "GET /api/planning/settings": "planning.read",
    "PUT /api/planning/settings": "planning.write",
    "GET /api/customers/{code}/summary": "sales.read",
    # Prices, contracts and quotes.
    "GET /api/prices": "sales.read",
    "GET /api/price-lists": "sales.read",
    "POST /api/price-lists": "sales.pricing",
    "GET /api/price-lists/{code}": "sales.read",
    "PUT /api/price-lists/{code}": "sales.pricing",
    "DELETE /api/price-lists/{code}": "sales.pricing",
    "GET /api/contracts": "sales.read",
    "POST /api/contracts": "sales.pricing",
    "GET /api/contracts/{code}": "sales.read",
    "PUT /api/contracts/{code}": "sales.pricing",
    "DELETE /api/contracts/{code}": "sales.pricing",
    "GET /api/quotes": "sales.read",
    "POST /api/quotes": "sales.write",
    "GET /api/quotes/{code}": "sales.read",
    "PUT /api/quotes/{code}": "sales.write",
    "GET /api/quotes/{code}/pdf": "sales.read",
    "POST /api/quotes/{code}/submit": "sales.write",
    "POST /api/quotes/{code}/approve": "sales.approve",
    "POST /api/quotes/{code}/reject": "sales.approve",
    "POST /api/quotes/{code}/convert": "sales.write",
    # Shipping: shipments, their documents and labels, handling units, proofs of delivery.
    "GET /api/shipments": "shipping.read",
    "POST /api/shipments": "shipping.write",
    "GET /api/shipments/{code}": "shipping.read",
    "POST /api/shipments/{code}/cancel": "shipping.write",
    "POST /api/shipments/{code}/replan": "shipping.write",
    "POST /api/shipments/{code}/route": "shipping.write",
    "GET /api/shipments/{code}/delivery-note.pdf": "shipping.read",
    "GET /api/shipments/{code}/delivery-note.png": "shipping.read",
    "GET /api/shipments/{code}/delivery-note.zpl": "shipping.read",
    "GET /api/shipments/{code}/label.png": "shipping.read",
    "GET /api/shipments/{code}/label.svg": "shipping.read",
    "GET /api/shipments/{code}/label.zpl": "shipping.read",
    "GET /api/shipments/{code}/proof": "shipping.read",
    "GET /api/shipments/{code}/signature.png": "shipping.read",
    "GET /api/handling-units/{sscc}": "shipping.read",
    "GET /api/handling-units/{sscc}/label.png": "shipping.read",
    "GET /api/handling-units/{sscc}/label.svg": "shipping.read",
    "GET /api/handling-units/{sscc}/label.zpl": "shipping.read",
    "GET /api/proofs/verify": "shipping.read",
    # Production.
    "GET /api/production-orders": "production.read",
    "POST /api/production-orders": "production.write",
    "GET /api/production-orders/{code}": "production.read",
    "PATCH /api/production-orders/{code}": "production.write",
    "POST /api/production-orders/{code}/release": "production.write",
    "POST /api/production-orders/{code}/cancel": "production.write",
    "POST /api/production-orders/{code}/close": "production.write",
    "GET /api/production-orders/{code}/traveller.pdf": "production.read",
    "GET /api/production-orders/{code}/traveller.png": "production.read",
    "GET /api/production-orders/{code}/traveller.svg": "production.read",
    "GET /api/downtime": "production.read",
    # Quality.
    "GET /api/inspection-plans": "quality.read",
    "POST /api/inspection-plans": "quality.write",
    "GET /api/inspection-plans/{item}": "quality.read",
    "PUT /api/inspection-plans/{item}": "quality.write",
    "DELETE /api/inspection-plans/{item}": "quality.write",
    "GET /api/quality/holds": "quality.read",
    "POST /api/quality/holds": "quality.write",
    "POST /api/quality/holds/release": "quality.write",
    "GET /api/quality/inspections": "quality.read",
    "POST /api/quality/inspections": "quality.write",
    "GET /api/nonconformances": "quality.read",
    "GET /api/nonconformances/{code}": "quality.read",
    "POST /api/nonconformances/{code}/disposition": "quality.write",
    # Planning: everyone reads the forecasts, the planner keeps them.
    "GET /api/forecasts": "planning.read",
    "PUT /api/forecasts": "planning.write",
    "DELETE /api/forecasts/{forecast_id}": "planning.write",
    "POST /api/forecasts/import": "planning.write",
    # Webhooks: the admin's.
    "GET /api/webhooks": "webhooks.manage",
    "POST /api/webhooks": "webhooks.manage",
    "GET /api/webhooks/event-types": "webhooks.manage",
    "GET /api/webhooks/{subscription_id}": "webhooks.manage",
    "PATCH /api/webhooks/{subscription_id}": "webhooks.manage",
    "DELETE /api/webhooks/{subscription_id}": "webhooks.manage",
    "GET /api/webhooks/{subscription_id}/deliveries": "webhooks.manage",
    "POST /api/webhooks/{subscription_id}/ping": "webhooks.manage",
    "POST /api/webhooks/{subscription_id}/rotate-secret": "webhooks.manage",
    "GET /api/webhook-deliveries/{delivery_id}": "webhooks.manage",
    "POST /api/webhook-deliveries/{delivery_id}/redeliver": "webhooks.manage",
    **_master_data(),
}

# Path parameters of things that do not exist: an allowed caller reaches the handler and hears 404 (or 400).
PATH_VALUES = {"subscription_id": "987654321", "run_id": "987654321", "forecast_id": "987654321",
               "message_id": "987654321"}
# Asked last, or not in the loop: logging out would end the session the rest of the matrix is asked in.
NOT_IN_THE_LOOP = {"POST /api/auth/logout"}


def _documented(server_url: str) -> list[str]:
    document = httpx.get(f"{server_url}/schema/openapi.json", timeout=30).json()
    return sorted(f"{method.upper()} {path}" for path, operations in document["paths"].items()
                  for method in operations if method in ("get", "post", "put", "patch", "delete"))


def _url(operation: str) -> tuple[str, str]:
    method, path = operation.split(" ", 1)
    return method, re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES.get(m.group(1), "NO-SUCH-THING"), path)


def _ask(client: httpx.Client, operation: str, headers: dict[str, str] | None = None) -> httpx.Response:
    method, url = _url(operation)
    body = {"json": []} if method in ("POST", "PUT", "PATCH") else {}  # never a valid body: nothing changes
    return client.request(method, url, headers=headers or {}, **body)


def _may(role: Role, permission: str) -> bool:
    if permission in (ANYONE, SIGNED_IN):
        return True
    if permission == DEVICE:
        return False
    if permission == SCAN:
        return "scan.resolve" in ROLE_PERMISSIONS[role]
    return permission in ROLE_PERMISSIONS[role]


def test_every_documented_operation_has_its_line_in_the_table(server):
    documented = _documented(server.url)
    assert sorted(set(documented) - set(PERMISSIONS)) == [], "operations the table does not name: give each its line"
    assert sorted(set(PERMISSIONS) - set(documented)) == [], "the table names operations the API does not document"
    known = frozenset().union(*ROLE_PERMISSIONS.values())
    assert {p for p in PERMISSIONS.values() if "." in p and " " not in p} <= known


@pytest.fixture(scope="module")
def role_clients(server) -> Iterator[dict[Role, httpx.Client]]:
    role_of = {Role(role): username for username, _, role in DEMO_LOGINS}
    clients = {role: office(server.url, username) for role, username in role_of.items()}
    assert set(clients) == set(Role), "a demo login for every role"
    yield clients
    for client in clients.values():
        client.close()


def _refusal(response: httpx.Response) -> str | None:
    if response.status_code in (401, 403):
        return f"{response.status_code} {response.json().get('code')}"
    return None


def test_each_role_may_call_exactly_what_its_permissions_grant(server, role_clients):
    wrong: list[str] = []
    for operation, permission in sorted(PERMISSIONS.items()):
        if operation in NOT_IN_THE_LOOP:
            continue
        for role, client in role_clients.items():
            response = _ask(client, operation)
            refused = _refusal(response)
            if permission == DEVICE:
                if refused != "401 missing_token":
                    wrong.append(f"{role} {operation}: a device's, but got {response.status_code} {refused}")
            elif _may(role, permission):
                if refused or response.status_code >= 500:
                    wrong.append(f"{role} {operation}: allowed ({permission}) but got {response.status_code} {refused}")
            elif refused != "403 forbidden":
                wrong.append(f"{role} {operation}: needs {permission} but got {response.status_code}")
    assert wrong == [], "\n".join(wrong)


def test_nobody_and_a_device_get_only_what_is_open_to_them(server, admin, tmp_path):
    device = enrolled_device(server.url, admin, tmp_path)
    bearer = {"Authorization": f"Bearer {device.token}"}
    nobody = anonymous(server.url)
    bare = httpx.Client(base_url=server.url, timeout=30)  # a device sends no cookie, only its token
    wrong: list[str] = []
    try:
        for operation, permission in sorted(PERMISSIONS.items()):
            response = _ask(nobody, operation)
            if permission == ANYONE:
                if _refusal(response):
                    wrong.append(f"nobody {operation}: open to anyone but got {response.status_code}")
            elif response.status_code != 401:
                wrong.append(f"nobody {operation}: needs {permission} but got {response.status_code}")
            if permission == ANYONE:
                continue
            response = _ask(bare, operation, bearer)
            if permission in (DEVICE, SCAN):
                if _refusal(response) or response.status_code >= 500:
                    wrong.append(f"device {operation}: open to a device but got {response.status_code}")
            elif response.status_code != 401:
                wrong.append(f"device {operation}: needs {permission} but got {response.status_code}")
    finally:
        nobody.close()
        bare.close()
        device.close()
    assert wrong == [], "\n".join(wrong)


def test_logging_out_needs_a_session_and_ends_it(server, login):
    nobody = anonymous(server.url)
    try:
        assert nobody.post("/api/auth/logout").status_code == 401
    finally:
        nobody.close()
    viewer = login("viewer")
    assert viewer.get("/api/auth/me").status_code == 200
    assert viewer.post("/api/auth/logout").status_code in (200, 204)
    assert viewer.get("/api/auth/me").status_code == 401
