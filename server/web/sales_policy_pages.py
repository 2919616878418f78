"""The review policy an order passes on submission: which checks run, the discount threshold, whether a clean
review approves by itself, which roles may approve past each check, and above which value or discount the approver
must not be the order's author."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER
from pydantic import ValidationError

from schemas.sales import SalesPolicyIn
from server.accounts.identity import requires
from server.accounts.organisation import custom_role_names, roles_granting
from server.actors import office_who
from server.db import write_transaction
from server.errors import ApiError
from server.sales import rules
from server.sales import service as sales
from server.web.forms import FormErrors, display, explain
from server.web.render import language_of, render
from server.web.sales_common import refusal_status

CHECK_NAMES = rules.CHECKS
OTHER_APPROVER_LIMITS = ("other_approver_above_value", "other_approver_above_discount_pct")


async def _approver_roles(values: dict[str, Any]) -> list[tuple[str, str | None]]:
    """The roles the form offers as approvers: those that may approve orders, built-in and custom (with its name),
    and any the policy or the form names although it may not, so that it can be taken off."""
    offered = await roles_granting(sales.APPROVE_PERMISSION)
    known = {code for code, _ in offered}
    named = sorted({role for roles in values["approvers"].values() for role in roles} - known - {"admin"})
    names = await custom_role_names(named)
    return offered + [(code, names.get(code)) for code in named]


def _policy_values(policy: Any) -> dict[str, Any]:
    return {"credit_check": policy.credit_check, "discount_check": policy.discount_check,
            "promise_check": policy.promise_check,
            "max_discount_pct": display(policy.max_discount_pct, "decimal"), "auto_approve": policy.auto_approve,
            "approvers": {check: list(policy.approvers.get(check, sales.DEFAULT_APPROVERS)) for check in CHECK_NAMES},
            **{name: display(getattr(policy, name), "decimal") for name in OTHER_APPROVER_LIMITS}}


@get("/sales-policy", guards=[requires("sales.policy")], include_in_schema=False)
async def policy_form(request: Request) -> Template:
    policy = await sales.get_policy()
    values = _policy_values(policy)
    return render(request, "sales_policy.html", values=values, policy=policy, errors=FormErrors(),
                  checks=CHECK_NAMES, roles=await _approver_roles(values), done=request.query_params.get("done"))


@post("/sales-policy", guards=[requires("sales.policy")], include_in_schema=False)
async def save_policy(request: Request) -> Template | Redirect:
    who = office_who(request)
    form = await request.form()
    values: dict[str, Any] = {
        "credit_check": form.get("credit_check") == "true", "discount_check": form.get("discount_check") == "true",
        "promise_check": form.get("promise_check") == "true",
        "auto_approve": form.get("auto_approve") == "true",
        "max_discount_pct": str(form.get("max_discount_pct") or "").strip(),
        "approvers": {check: [str(r) for r in form.getall(f"approvers-{check}", [])] for check in CHECK_NAMES},
        **{name: str(form.get(name) or "").strip() or None for name in OTHER_APPROVER_LIMITS},  # empty: no limit
    }
    try:
        async with write_transaction():
            await sales.set_policy(SalesPolicyIn.model_validate(values), who)
    except (ApiError, ValidationError) as exc:
        errors = explain(exc, FormErrors(), language_of(request))
        return render(request, "sales_policy.html", status_code=refusal_status(exc), values=values,
                      policy=await sales.get_policy(), errors=errors, checks=CHECK_NAMES,
                      roles=await _approver_roles(values), done=None)
    return Redirect("/sales-policy?done=save", status_code=HTTP_303_SEE_OTHER)


SALES_POLICY_HANDLERS = [policy_form, save_policy]
