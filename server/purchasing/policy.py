"""The purchasing policy (one row): the default total above which a purchase order is approved by someone other than
who wrote it, and per role a limit of its own. The approval check reads it (service.py); an admin sets it
(purchasing.policy), in its entry point's transaction, audited. Before anyone sets it, the default is
FLOORSYNC_PO_APPROVAL_BY_OTHER_ABOVE and no role has a limit of its own."""

from __future__ import annotations

from litestar.status_codes import HTTP_422_UNPROCESSABLE_ENTITY

from schemas.purchasing import PurchasingPolicyIn, PurchasingPolicyOut
from server.accounts.organisation import roles_lacking, unknown_roles
from server.actors import Who
from server.db import needs_write
from server.documents import audit_change, utc_now
from server.errors import ApiError
from server.i18n import Message
from server.purchasing.rules import APPROVE_PERMISSION, plain_amount
from server.purchasing.tables import PurchasingPolicy
from server.settings import po_approval_by_other_above_from_env

ENTITY = "purchasing_policy"
FIELD = "self_approval_limits"


async def get_policy() -> PurchasingPolicyOut:
    row = await PurchasingPolicy.select().order_by(PurchasingPolicy.id).first().output(load_json=True)
    if row is None:
        return PurchasingPolicyOut(other_approver_above=po_approval_by_other_above_from_env(), self_approval_limits={},
                                   updated_by="system", updated_at=None)
    limits = row["self_approval_limits"] or {}
    return PurchasingPolicyOut(
        other_approver_above=plain_amount(row["other_approver_above"]),
        self_approval_limits={role: plain_amount(amount) for role, amount in limits.items()},
        updated_by=row["updated_by"], updated_at=row["updated_at"])


async def _check_roles(roles: list[str]) -> None:
    """Every role given a limit exists, built-in or custom (422 `unknown_role`), and may approve purchase orders
    (422 `role_cannot_approve`): a limit for a role that never passes the approve endpoint's guard means nothing."""
    named = sorted(roles)
    missing = await unknown_roles(named)
    if missing:
        raise ApiError(HTTP_422_UNPROCESSABLE_ENTITY, "unknown_role", f"{FIELD}: no such role: {', '.join(missing)}",
                       {"field": FIELD, "roles": missing},
                       Message("refusal.unknown_approver_role", {"roles": ", ".join(missing)}))
    lacking = await roles_lacking(named, APPROVE_PERMISSION)
    if lacking:
        raise ApiError(HTTP_422_UNPROCESSABLE_ENTITY, "role_cannot_approve",
                       f"{FIELD}: {', '.join(lacking)} may not approve purchase orders (no {APPROVE_PERMISSION} "
                       "permission)", {"field": FIELD, "roles": lacking, "permission": APPROVE_PERMISSION},
                       Message("refusal.role_cannot_approve_purchase_orders", {"roles": ", ".join(lacking)}))


@needs_write
async def set_policy(data: PurchasingPolicyIn, who: Who) -> PurchasingPolicyOut:
    await _check_roles(list(data.self_approval_limits))
    before = await get_policy()
    values = {"other_approver_above": data.other_approver_above,
              "self_approval_limits": {role: format(plain_amount(amount), "f")
                                       for role, amount in sorted(data.self_approval_limits.items())},
              "updated_by": who.name, "updated_at": utc_now()}
    existing = await PurchasingPolicy.select(PurchasingPolicy.id).order_by(PurchasingPolicy.id).first()
    if existing is None:
        await PurchasingPolicy.insert(PurchasingPolicy(**values))
    else:
        await PurchasingPolicy.update({getattr(PurchasingPolicy, k): v for k, v in values.items()}).where(
            PurchasingPolicy.id == existing["id"])
    after = await get_policy()
    await audit_change(who, "update", ENTITY, "default", before, after)
    return after
