"""The purchasing policy's page: the default total above which a purchase order is approved by someone other than
who wrote it, and per role that may approve purchase orders a limit of its own (empty: the default)."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER
from pydantic import ValidationError

from schemas.purchasing import PurchasingPolicyIn, PurchasingPolicyOut
from server.accounts.identity import requires
from server.accounts.organisation import custom_role_names, roles_granting
from server.actors import office_who
from server.db import write_transaction
from server.errors import ApiError
from server.purchasing import policy as purchasing_policy
from server.purchasing.rules import APPROVE_PERMISSION
from server.web.forms import FormErrors, display, explain
from server.web.render import language_of, render
from server.web.sales_common import refusal_status

LIMITS = purchasing_policy.FIELD
ROLE_INPUT = "limit-"  # one input per role: limit-buyer, limit-lead_buyer…


async def _roles(values: dict[str, Any]) -> list[tuple[str, str | None]]:
    """The roles the form offers a limit for: those that may approve purchase orders, built-in and custom (with its
    name), and any the policy or the form names although it may not, so that its limit can be taken off."""
    offered = await roles_granting(APPROVE_PERMISSION)
    known = {code for code, _ in offered}
    named = sorted(set(values[LIMITS]) - known)
    names = await custom_role_names(named)
    return offered + [(code, names.get(code)) for code in named]


def _policy_values(policy: PurchasingPolicyOut) -> dict[str, Any]:
    return {"other_approver_above": display(policy.other_approver_above, "decimal"),
            LIMITS: {role: display(amount, "decimal") for role, amount in policy.self_approval_limits.items()}}


def _beside_their_roles(errors: FormErrors) -> FormErrors:
    """A refused amount is said beside its role's input (pydantic names it `self_approval_limits.<role>`); what is
    about the roles together (one that may not approve) stays under the list."""
    for message in errors.fields.pop(LIMITS, []):
        path, colon, said = message.partition(": ")
        if colon and path.startswith(f"{LIMITS}.") and path.count(".") == 1:
            errors.fields.setdefault(ROLE_INPUT + path.removeprefix(f"{LIMITS}."), []).append(said)
        else:
            errors.fields.setdefault(LIMITS, []).append(message)
    return errors


async def _page(request: Request, values: dict[str, Any], errors: FormErrors, status_code: int = 200,
                done: str | None = None) -> Template:
    return render(request, "purchasing_policy.html", status_code=status_code, values=values,
                  policy=await purchasing_policy.get_policy(), errors=errors, roles=await _roles(values), done=done)


@get("/purchasing-policy", guards=[requires("purchasing.policy")], include_in_schema=False)
async def policy_form(request: Request) -> Template:
    values = _policy_values(await purchasing_policy.get_policy())
    return await _page(request, values, FormErrors(), done=request.query_params.get("done"))


@post("/purchasing-policy", guards=[requires("purchasing.policy")], include_in_schema=False)
async def save_policy(request: Request) -> Template | Redirect:
    form = await request.form()
    values: dict[str, Any] = {
        "other_approver_above": str(form.get("other_approver_above") or "").strip(),
        LIMITS: {name.removeprefix(ROLE_INPUT): text for name in form.keys() if name.startswith(ROLE_INPUT)
                 if (text := str(form.get(name) or "").strip())},  # empty: the role takes the default
    }
    try:
        async with write_transaction():
            await purchasing_policy.set_policy(PurchasingPolicyIn.model_validate(values), office_who(request))
    except (ApiError, ValidationError) as exc:
        errors = _beside_their_roles(explain(exc, FormErrors(), language_of(request)))
        return await _page(request, values, errors, status_code=refusal_status(exc))
    return Redirect("/purchasing-policy?done=save", status_code=HTTP_303_SEE_OTHER)


PURCHASING_POLICY_HANDLERS = [policy_form, save_policy]
