"""Quality in the office: held stock (hold, release, record a result), inspection plans (list and edit) and
nonconformances (list, detail, disposition). Every write calls the same `server.quality.service` function as the
REST API and a device's `quality.record`, in one transaction, so it is checked, audited and fed the same way."""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Request, get, post
from litestar.params import Parameter
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER, HTTP_422_UNPROCESSABLE_ENTITY
from pydantic import ValidationError

from schemas.quality import DispositionIn, HoldIn, InspectionPlanIn, InspectionPlanUpdate, QualityRecordArgs
from server.accounts.identity import requires
from server.db import write_transaction
from server.errors import ApiError
from server.actors import office_who
from server.quality import service
from server.quality.rules import DISPOSITIONS
from server.web.forms import FormErrors, display, explain
from server.web.render import current_user, language_of, render

PAGE_SIZE = 50
BLANK_ROWS = 3
CHARACTERISTIC_FIELDS = ("name", "kind", "unit", "lower_limit", "upper_limit", "required")
HOLD_FIELDS = ("item", "lot", "location", "quantity", "note")
CodePath = Annotated[str, Parameter(max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
CodeQuery = Annotated[str | None, Parameter(max_length=40, pattern=r"^[A-Za-z0-9._-]*$")]
Page = Annotated[int, Parameter(ge=1, le=10**6)]


def _messages(exc: ValidationError | ApiError, lang: str) -> list[str]:
    errors = explain(exc, FormErrors(), lang)
    return [*errors.general, *(m for ms in errors.fields.values() for m in ms)]


def _pages(total: int) -> int:
    return max(1, -(-total // PAGE_SIZE))


def _may_write(request: Request) -> bool:
    user = current_user(request)
    return user is not None and user.may("quality.write")


# -- held stock ----------------------------------------------------------------------------------------------
async def _holds_page(request: Request, *, item: str = "", page: int = 1, typed: dict[str, str] | None = None,
                      errors: list[str] | None = None, status_code: int = 200) -> Template:
    held, held_total = await service.list_held(item=item or None, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    quarantined, _ = await service.list_held(item=item or None, status="quarantine", limit=PAGE_SIZE)
    return render(
        request, "quality_holds.html", status_code=status_code, held=held, quarantined=quarantined, total=held_total,
        page=page, pages=_pages(held_total), item=item, may_write=_may_write(request), typed=typed or {},
        errors=errors or [], done=request.query_params.get("done"), ncr=request.query_params.get("ncr"),
        page_url=lambda number: "/quality/holds?" + urlencode({**({"item": item} if item else {}), "page": number}),
    )


@get(["/quality", "/quality/holds"], guards=[requires("quality.read")], include_in_schema=False)
async def holds_list(request: Request, item: CodeQuery = None, page: Page = 1) -> Template:
    return await _holds_page(request, item=(item or "").strip(), page=page)


@post(["/quality/holds", "/quality/holds/release"], guards=[requires("quality.write")], include_in_schema=False)
async def hold_or_release(request: Request) -> Template | Redirect:
    who = office_who(request)
    form = await request.form()
    typed = {name: str(form.get(name) or "").strip() for name in HOLD_FIELDS}
    releasing = request.url.path.endswith("/release")
    try:
        data = HoldIn.model_validate({k: v for k, v in typed.items() if v or k == "note"})
        async with write_transaction():
            await (service.release_stock if releasing else service.hold_stock)(data, who)
    except (ValidationError, ApiError) as exc:
        return await _holds_page(request, item=typed["item"], typed={} if releasing else typed,
                                 errors=_messages(exc, language_of(request)), status_code=HTTP_422_UNPROCESSABLE_ENTITY)
    done = "release" if releasing else "hold"
    return Redirect("/quality/holds?" + urlencode({"item": data.item, "done": done}), status_code=HTTP_303_SEE_OTHER)


# -- recording a result at a desk ------------------------------------------------------------------------------
async def _inspect_page(request: Request, values: dict[str, str], *, errors: list[str] | None = None,
                        status_code: int = 200) -> Template:
    plan = None
    if values.get("item"):
        try:
            plan = await service.get_plan(values["item"])
        except ApiError:
            plan = None
    return render(request, "quality_inspect.html", status_code=status_code, values=values, plan=plan,
                  errors=errors or [])


@get("/quality/inspect", guards=[requires("quality.write")], include_in_schema=False)
async def inspect_form(request: Request, item: CodeQuery = None, lot: CodeQuery = None,
                       location: CodeQuery = None) -> Template:
    return await _inspect_page(request, {"item": item or "", "lot": lot or "", "location": location or ""})


def _posted_results(form: dict[str, str]) -> list[dict[str, str]]:
    """Results posted as result-<n> with the characteristic's name in result-<n>-name; a blank one is not given."""
    results = []
    for key, value in form.items():
        if (m := re.fullmatch(r"result-(\d+)", key)) and value.strip():
            results.append({"characteristic": form.get(f"result-{m.group(1)}-name", ""), "value": value.strip()})
    return results


@post("/quality/inspect", guards=[requires("quality.write")], include_in_schema=False)
async def inspect_record(request: Request) -> Template | Redirect:
    who = office_who(request)
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    values = {name: form.get(name, "").strip() for name in ("item", "lot", "location", "quantity", "verdict", "note")}
    data = {"subject": "lot" if values["lot"] and not values["location"] else "receipt",
            **{k: v for k, v in values.items() if v}, "results": _posted_results(form)}
    try:
        args = QualityRecordArgs.model_validate(data)
        async with write_transaction():
            effect = await service.record_inspection(args, who)
    except (ValidationError, ApiError) as exc:
        return await _inspect_page(request, values | {f"result-{k}": v for k, v in form.items() if k.startswith("result-")},
                                   errors=_messages(exc, language_of(request)), status_code=HTTP_422_UNPROCESSABLE_ENTITY)
    query = {"item": args.item, "done": effect["verdict"]} | ({"ncr": effect["nonconformance"]} if effect["nonconformance"] else {})
    return Redirect("/quality/holds?" + urlencode(query), status_code=HTTP_303_SEE_OTHER)


# -- inspection plans ------------------------------------------------------------------------------------------
@get("/quality/plans", guards=[requires("quality.read")], include_in_schema=False)
async def plans_list(request: Request, item: CodeQuery = None, page: Page = 1) -> Template:
    listing = await service.list_plans(item=item or None, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    return render(request, "quality_plans.html", plans=listing["items"], total=listing["total"], page=page,
                  pages=_pages(listing["total"]), item=item or "", may_write=_may_write(request),
                  done=request.query_params.get("done"),
                  page_url=lambda number: "/quality/plans?" + urlencode({**({"item": item} if item else {}), "page": number}))


async def _plan_form(request: Request, *, item: str | None, values: dict[str, str], rows: list[dict[str, str]],
                     errors: FormErrors | None = None, status_code: int = 200) -> Template:
    return render(request, "quality_plan_form.html", status_code=status_code, item=item, values=values, rows=rows,
                  errors=errors or FormErrors())


@get("/quality/plans/new", guards=[requires("quality.write")], include_in_schema=False)
async def new_plan_form(request: Request, item: CodeQuery = None) -> Template:
    return await _plan_form(request, item=None, values={"item": item or ""}, rows=[{} for _ in range(BLANK_ROWS)])


@get("/quality/plans/{item:str}/edit", guards=[requires("quality.write")], include_in_schema=False)
async def edit_plan_form(request: Request, item: CodePath) -> Template:
    plan = await service.get_plan(item)
    rows = [{name: display(getattr(c, name), "decimal") if name != "required" else ("on" if c.required else "")
             for name in CHARACTERISTIC_FIELDS} for c in plan.characteristics]
    return await _plan_form(request, item=item, values={"description": plan.description, "version": str(plan.version)},
                            rows=rows + [{}])


def _posted_rows(form: dict[str, str]) -> list[dict[str, str]]:
    rows: dict[int, dict[str, str]] = {}
    for key, value in form.items():
        if (m := re.fullmatch(r"chars-(\d+)-(\w+)", key)) and m.group(2) in CHARACTERISTIC_FIELDS:
            rows.setdefault(int(m.group(1)), {})[m.group(2)] = value.strip()
    return [rows[i] for i in sorted(rows) if rows[i].get("name") or rows[i].get("lower_limit") or rows[i].get("upper_limit")]


def _characteristic_input(row: dict[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = {k: v for k, v in row.items() if v and k != "required"}
    data["required"] = row.get("required") == "on"
    return data


async def _save_plan(request: Request, item: str | None) -> Template | Redirect:
    who = office_who(request)
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    values = {k: form.get(k, "").strip() for k in ("item", "description", "version")}
    rows = _posted_rows(form)
    if form.get("_action") == "more_rows":
        return await _plan_form(request, item=item, values=values, rows=rows + [{} for _ in range(BLANK_ROWS)])
    characteristics = [_characteristic_input(row) for row in rows]
    errors = FormErrors()
    try:
        async with write_transaction():
            if item is None:
                saved = await service.create_plan(InspectionPlanIn.model_validate(
                    {"item": values["item"], "description": values["description"],
                     "characteristics": characteristics}), who)
            else:
                saved = await service.update_plan(item, InspectionPlanUpdate.model_validate(
                    {"version": values["version"] or "0", "description": values["description"],
                     "characteristics": characteristics}), who)
    except (ValidationError, ApiError) as exc:
        if isinstance(exc, ApiError) and exc.code == "not_found":
            raise
        explain(exc, errors, language_of(request))
        return await _plan_form(request, item=item, values=values, rows=rows + [{}], errors=errors,
                                status_code=exc.status_code if isinstance(exc, ApiError) else HTTP_422_UNPROCESSABLE_ENTITY)
    return Redirect("/quality/plans?" + urlencode({"item": saved.item, "done": "save"}), status_code=HTTP_303_SEE_OTHER)


@post("/quality/plans/new", guards=[requires("quality.write")], include_in_schema=False)
async def create_plan(request: Request) -> Template | Redirect:
    return await _save_plan(request, None)


@post("/quality/plans/{item:str}/edit", guards=[requires("quality.write")], include_in_schema=False)
async def update_plan(request: Request, item: CodePath) -> Template | Redirect:
    return await _save_plan(request, item)


@post("/quality/plans/{item:str}/delete", guards=[requires("quality.write")], include_in_schema=False)
async def delete_plan(request: Request, item: CodePath) -> Redirect:
    who = office_who(request)
    async with write_transaction():
        await service.delete_plan(item, who)
    return Redirect("/quality/plans?done=delete", status_code=HTTP_303_SEE_OTHER)


# -- nonconformances -------------------------------------------------------------------------------------------
@get("/quality/ncrs", guards=[requires("quality.read")], include_in_schema=False)
async def ncr_list(request: Request, status: Annotated[str | None, Parameter(max_length=10, pattern=r"^[a-z]*$")] = None,
                   page: Page = 1) -> Template:
    status = status if status in ("open", "closed") else None
    listing = await service.list_nonconformances(status=status, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    return render(request, "quality_ncrs.html", ncrs=listing["items"], total=listing["total"], page=page,
                  pages=_pages(listing["total"]), status=status or "",
                  page_url=lambda number: "/quality/ncrs?" + urlencode({**({"status": status} if status else {}), "page": number}))


async def _ncr_page(request: Request, code: str, *, errors: list[str] | None = None, status_code: int = 200) -> Template:
    ncr = await service.get_nonconformance(code)
    return render(request, "quality_ncr.html", status_code=status_code, ncr=ncr, dispositions=DISPOSITIONS,
                  may_decide=ncr.status == "open" and _may_write(request), errors=errors or [],
                  done=request.query_params.get("done"))


@get("/quality/ncrs/{code:str}", guards=[requires("quality.read")], include_in_schema=False)
async def ncr_detail(request: Request, code: CodePath) -> Template:
    return await _ncr_page(request, code)


@post("/quality/ncrs/{code:str}/disposition", guards=[requires("quality.write")], include_in_schema=False)
async def ncr_disposition(request: Request, code: CodePath) -> Template | Redirect:
    who = office_who(request)
    form = await request.form()
    try:
        data = DispositionIn.model_validate({"disposition": str(form.get("disposition") or ""),
                                             "note": str(form.get("note") or "")})
        async with write_transaction():
            await service.decide_disposition(code, data, who)
    except (ValidationError, ApiError) as exc:
        if isinstance(exc, ApiError) and exc.code == "not_found":
            raise
        return await _ncr_page(request, code, errors=_messages(exc, language_of(request)),
                               status_code=exc.status_code if isinstance(exc, ApiError) else HTTP_422_UNPROCESSABLE_ENTITY)
    return Redirect(f"/quality/ncrs/{code}?done=disposition", status_code=HTTP_303_SEE_OTHER)


QUALITY_HANDLERS = [holds_list, hold_or_release, inspect_form, inspect_record, plans_list, new_plan_form, create_plan,
                    edit_plan_form, update_plan, delete_plan, ncr_list, ncr_detail, ncr_disposition]
