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
    "crews",
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
    "crews": {Role.planner, Role.production_supervisor},
    "sites": set(),
    "warehouses": {Role.warehouse, Role.logistics},
    "locations": {Role.warehouse, Role.logistics},
    "customers": {Role.sales, Role.sales_manager},
    "suppliers": {Role.buyer},
}

ADMIN_ONLY = ("users.read", "users.write", "audit.read", "sales.policy", "purchasing.policy", "webhooks.manage")

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
    # Price lists and contracts set what every order and quote is priced at: a sales manager's.
    "sales.pricing": {Role.sales_manager},
    # Planning: everyone reads the plan and the forecasts; the planner keeps the forecasts, runs MRP and firms
    # planned production. A buyer firms planned purchases with purchasing.write.
    "planning.read": set(Role),
    "planning.write": {Role.planner},
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


BUILT_IN_ROLES: frozenset[str] = frozenset(role.value for role in Role)
# What no custom role may grant: the administration of users and roles stays with the built-in admin role, so that
# nobody holding a custom role can make a role, or a user, that grants more than they were given.
RESERVED_PERMISSIONS: frozenset[str] = frozenset({"users.write"})
GRANTABLE_PERMISSIONS: frozenset[str] = ALL_PERMISSIONS - RESERVED_PERMISSIONS


def permissions_for(roles: list[str], custom: dict[str, frozenset[str]] | None = None) -> frozenset[str]:
    """What the roles grant together: a built-in role's permissions from the table above, a custom role's from
    `custom` (code -> permissions, as read from the database); a role named in neither grants nothing."""
    granted: set[str] = set()
    for name in roles:
        if name in BUILT_IN_ROLES:
            granted |= ROLE_PERMISSIONS[Role(name)]
        elif custom and name in custom:
            granted |= custom[name] & GRANTABLE_PERMISSIONS
    return frozenset(granted)


def check_permission(permission: str) -> str:
    if permission not in ALL_PERMISSIONS:
        raise KeyError(f"unknown permission {permission!r}")
    return permission
