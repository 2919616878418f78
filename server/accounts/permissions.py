"""Roles and what each may do. A permission is '<resource>.<action>'; a guard asks for one."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    admin = "admin"
    sales = "sales"
    sales_manager = "sales_manager"
    planner = "planner"
    buyer = "buyer"
    warehouse = "warehouse"
    production_supervisor = "production_supervisor"
    quality = "quality"
    logistics = "logistics"
    viewer = "viewer"


MASTER_RESOURCES = (
    "items",
    "units",
    "boms",
    "routings",
    "work_centres",
    "sites",
    "warehouses",
    "locations",
    "customers",
    "suppliers",
)

# Who maintains which master data. Every office role may read all of it.
MASTER_WRITERS: dict[str, set[Role]] = {
    "items": {Role.planner},
    "units": {Role.planner},
    "boms": {Role.planner},
    "routings": {Role.planner, Role.production_supervisor},
    "work_centres": {Role.planner, Role.production_supervisor},
    "sites": set(),
    "warehouses": {Role.warehouse, Role.logistics},
    "locations": {Role.warehouse, Role.logistics},
    "customers": {Role.sales, Role.sales_manager},
    "suppliers": {Role.buyer},
}

ADMIN_ONLY = ("users.read", "users.write", "audit.read", "sales.policy", "webhooks.manage")

# Floor operations seen from the office: who enrols and manages devices, who reads and corrects stock, who runs
# purchasing, production, quality and shipping at a desk.
FLOOR_GRANTS: dict[str, set[Role]] = {
    "devices.read": {Role.production_supervisor, Role.warehouse, Role.logistics, Role.viewer},
    "devices.write": {Role.production_supervisor, Role.warehouse, Role.logistics},
    "stock.read": set(Role),
    "stock.write": {Role.warehouse},
    # Scanning resolves a code to what it names: anyone who may read master data may ask.
    "scan.resolve": set(Role),
    "purchasing.read": set(Role),
    "purchasing.write": {Role.buyer},
    "purchasing.approve": {Role.buyer},
    "quality.read": set(Role),
    "quality.write": {Role.quality},
    "production.read": set(Role),
    "production.write": {Role.planner, Role.production_supervisor},
    "shipping.read": set(Role),
    "shipping.write": {Role.logistics, Role.warehouse},
    # Clerks enter, submit and change orders and record payments; a sales manager also approves what the review
    # flagged (which roles may approve past which check is the sales policy's, server/sales/rules.py).
    "sales.read": set(Role),
    "sales.write": {Role.sales, Role.sales_manager},
    "sales.approve": {Role.sales_manager},
}


def _build() -> dict[Role, frozenset[str]]:
    grants: dict[Role, set[str]] = {role: {f"{r}.read" for r in MASTER_RESOURCES} for role in Role}
    for resource, roles in MASTER_WRITERS.items():
        for role in roles:
            grants[role].add(f"{resource}.write")
    for permission, roles in FLOOR_GRANTS.items():
        for role in roles:
            grants[role].add(permission)
    grants[Role.admin] |= {f"{r}.write" for r in MASTER_RESOURCES} | set(ADMIN_ONLY) | set(FLOOR_GRANTS)
    return {role: frozenset(perms) for role, perms in grants.items()}


ROLE_PERMISSIONS: dict[Role, frozenset[str]] = _build()
ALL_PERMISSIONS: frozenset[str] = frozenset().union(*ROLE_PERMISSIONS.values())


def permissions_for(roles: list[str]) -> frozenset[str]:
    granted: set[str] = set()
    for name in roles:
        if name in Role.__members__:
            granted |= ROLE_PERMISSIONS[Role(name)]
    return frozenset(granted)


def may(roles: list[str], permission: str) -> bool:
    if permission not in ALL_PERMISSIONS:
        raise KeyError(f"unknown permission {permission!r}")
    return permission in permissions_for(roles)
