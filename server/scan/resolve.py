"""From a scan to the thing it identifies: an item (with lot, expiry, serial, quantity), a location, a handling unit
by SSCC, a device, or a document whose area registered a resolver.

A GS1 reading (see `gs1.py`) is answered here: an SSCC is a handling unit, else its GTIN (AI 01, or AI 02 on
a unit without SSCC) must be an active item's. Any other scan is an internal code, the plain text of a Code 128 or
QR label, and goes to the resolvers:

- `install_resolvers([(match, resolver), …])`: `match` is a code prefix (``"PO-"``) or a predicate on the code;
  `resolver` is an async function of the code returning a `ScanResult`, or None when the code is not one of its
  records. The purchasing, production and shipping areas plug in their documents this way (server/app.py names them), answering
  with a `DocumentScan` of their kind.
- Order: resolvers whose prefix matches (longest prefix first), then predicate resolvers in registration order;
  the built-in ones (locations, item codes, devices) are predicates registered here, so a document prefix is never
  shadowed by a location of the same name. The first answer wins; none is `unknown_code`.

A device resolves only locations inside its scope (its site, and its warehouses when it names any): another
location's code answers as whatever else has that code, else 409 `out_of_scope`, as a stock command there would.

Refusals: malformed input 400 (an empty string, `too_long`: the contract's lengths), a scan that reads as nothing
or unreadable 422 (`empty_scan`: only wedge noise, `control_character`, `invalid_symbology`, `invalid_gs1`,
`bad_check_digit`: what a scanner sent is any text, so its content is a rule, not the request's shape), nothing
found 404 (`unknown_gtin`, `unknown_code`), a location outside the device's scope 409 (`out_of_scope`).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable

from litestar.status_codes import HTTP_400_BAD_REQUEST, HTTP_404_NOT_FOUND, HTTP_409_CONFLICT, HTTP_422_UNPROCESSABLE_ENTITY

from devices.tables import Device
from schemas.scan import DeviceScan, ItemScan, LocationScan, ScanResult, ScannedDevice, ScannedItem, ScannedLocation, SsccScan
from schemas.sync import DeviceScope
from server.errors import ApiError, refuse
from server.masterdata.tables import Item, Location, Warehouse
from server.scan.gs1 import ScanError, ScanReading, read_scan

Resolver = Callable[[str], Awaitable[ScanResult | None]]
Match = str | Callable[[str], bool]

_by_prefix: list[tuple[str, Resolver]] = []
_by_predicate: list[tuple[Callable[[str], bool], Resolver]] = []

ERROR_STATUS = {
    "empty_scan": HTTP_422_UNPROCESSABLE_ENTITY,
    "too_long": HTTP_400_BAD_REQUEST,
    "control_character": HTTP_422_UNPROCESSABLE_ENTITY,
    "invalid_symbology": HTTP_422_UNPROCESSABLE_ENTITY,
    "invalid_gs1": HTTP_422_UNPROCESSABLE_ENTITY,
    "bad_check_digit": HTTP_422_UNPROCESSABLE_ENTITY,
}


def install_resolvers(resolvers: Iterable[tuple[Match, Resolver]]) -> None:
    """The areas' document resolvers, named once by server/app.py (`wire_areas`), after the built-in ones."""
    _by_prefix.clear()
    _by_predicate.clear()
    for match, resolver in [*BUILT_IN, *resolvers]:
        if isinstance(match, str):
            if not match:
                raise ValueError("a resolver's prefix must not be empty: give a predicate instead")
            _by_prefix.append((match, resolver))
        else:
            _by_predicate.append((match, resolver))
    _by_prefix.sort(key=lambda entry: len(entry[0]), reverse=True)


def read_or_refuse(raw: str, gs_standin: str | None) -> ScanReading:
    try:
        return read_scan(raw, gs_standin)
    except ScanError as exc:
        raise ApiError(ERROR_STATUS.get(exc.code, HTTP_422_UNPROCESSABLE_ENTITY), exc.code, exc.message, exc.details) from exc


async def resolve_scan(raw: str, gs_standin: str | None = None, scope: DeviceScope | None = None) -> ScanResult:
    """What a scan identifies; `scope` is the scanning device's (None at a desk)."""
    return await resolve_reading(read_or_refuse(raw, gs_standin), scope)


async def resolve_reading(reading: ScanReading, scope: DeviceScope | None = None) -> ScanResult:
    if reading.kind == "gs1":
        return await resolve_gs1(reading)
    return await resolve_code(reading.code or "", scope)


def _gs1_fields(reading: ScanReading) -> dict:
    return {
        "gtin": reading.gtin, "lot": reading.lot, "serial": reading.serial, "production_date": reading.production_date,
        "best_before": reading.best_before, "expiry": reading.expiry, "quantity": reading.quantity,
        "net_weight_kg": reading.net_weight_kg, "order_number": reading.order_number, "elements": reading.elements,
    }


async def resolve_gs1(reading: ScanReading) -> ScanResult:
    if reading.sscc:
        # A unit shipping packed answers as itself (its resolver is registered for 18-digit codes); an SSCC nobody
        # here packed (a supplier's pallet) is what its label says it holds.
        known = await _first_answer(reading.sscc)
        return known or SsccScan(sscc=reading.sscc, content_gtin=reading.content_gtin, **_gs1_fields(reading))
    gtin = reading.gtin or reading.content_gtin
    if gtin is None:
        raise ApiError(HTTP_404_NOT_FOUND, "unknown_code", "This GS1 code names no item or handling unit",
                       {"elements": reading.elements})
    row = await Item.select(Item.code, Item.name, Item.unit, Item.lot_tracked, Item.serial_tracked).where(
        (Item.gtin == gtin) & (Item.archived == False)  # noqa: E712
    ).first()
    if row is None:
        raise ApiError(HTTP_404_NOT_FOUND, "unknown_gtin", f"No item has GTIN {gtin}", {"gtin": gtin})
    return ItemScan(item=ScannedItem(**row), **{**_gs1_fields(reading), "gtin": gtin})


async def _first_answer(code: str, scope: DeviceScope | None = None) -> ScanResult | None:
    """The first resolver's answer; a location outside `scope` is passed over, and refused if nothing else answers."""
    candidates = [r for prefix, r in _by_prefix if code.startswith(prefix)] + [r for p, r in _by_predicate if p(code)]
    outside: LocationScan | None = None
    for resolver in candidates:
        result = await resolver(code)
        if isinstance(result, LocationScan) and await _outside(result, scope):
            outside = result
        elif result is not None:
            return result
    if outside is not None:
        raise refuse("out_of_scope", f"Location {code!r} is outside this device's scope", HTTP_409_CONFLICT,
                     location=outside.location.code)
    return None


async def _outside(scan: LocationScan, scope: DeviceScope | None) -> bool:
    """A location in another site, or in a warehouse the device's scope does not name (when it names any)."""
    if scope is None:
        return False
    if scope.warehouses and scan.location.warehouse not in scope.warehouses:
        return True
    row = await Warehouse.select(Warehouse.site).where(Warehouse.code == scan.location.warehouse).first()
    return row is None or row["site"] != scope.site


async def resolve_code(code: str, scope: DeviceScope | None = None) -> ScanResult:
    result = await _first_answer(code, scope)
    if result is not None:
        return result
    raise ApiError(HTTP_404_NOT_FOUND, "unknown_code", f"Nothing has the code {code[:80]!r}", {"code": code[:80]})


INTERNAL_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")
DEVICE_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
ENROLMENT_LINK = re.compile(r"^https?://[^#\s]+/app/#enrol=([A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4})$")


async def resolve_location(code: str) -> ScanResult | None:
    row = await Location.select(Location.code, Location.name, Location.warehouse, Location.kind).where(
        (Location.code == code) & (Location.archived == False)  # noqa: E712
    ).first()
    return LocationScan(location=ScannedLocation(**row)) if row else None


async def resolve_item_code(code: str) -> ScanResult | None:
    row = await Item.select(Item.code, Item.name, Item.unit, Item.lot_tracked, Item.serial_tracked).where(
        (Item.code == code) & (Item.archived == False)  # noqa: E712
    ).first()
    return ItemScan(item=ScannedItem(**row)) if row else None


async def resolve_device(code: str) -> ScanResult | None:
    if link := ENROLMENT_LINK.match(code):
        return DeviceScan(enrolment_code=link.group(1))
    row = await Device.select(Device.device_id, Device.name, Device.revoked_at).where(Device.device_id == code).first()
    if row is None:
        return None
    return DeviceScan(device=ScannedDevice(device_id=str(row["device_id"]), name=row["name"], revoked=row["revoked_at"] is not None))


# Locations, item codes and devices: predicates, so a document's prefix is never shadowed by a location's name.
BUILT_IN: tuple[tuple[Match, Resolver], ...] = (
    (lambda code: bool(INTERNAL_CODE.match(code)), resolve_location),
    (lambda code: bool(INTERNAL_CODE.match(code)), resolve_item_code),
    (lambda code: bool(DEVICE_ID.match(code) or ENROLMENT_LINK.match(code)), resolve_device),
)
