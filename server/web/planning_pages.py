"""MRP in the office: the plan of a site (its latest run, what changed since the one before, planned orders with
the demands each serves, filters and totals, the exceptions inbox), the run button, an item's time-phased record
as the classic grid, and the pegging of a demand as a tree down the BOM. Everything is read through
`server.planning.service`, the same functions as /api/mrp."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Request, get, post
from litestar.params import Parameter
from litestar.response import Redirect, Template
from litestar.exceptions import PermissionDeniedException
from litestar.status_codes import HTTP_303_SEE_OTHER, HTTP_400_BAD_REQUEST, HTTP_422_UNPROCESSABLE_ENTITY
from pydantic import ValidationError

from schemas.planning import FirmIn

from server.accounts.site_scope import within_scope
from server.accounts.identity import requires
from server.actors import office_who
from server.db import write_transaction
from server.errors import ApiError
from server.i18n import translate
from server.masterdata.tables import Site, SupplierItem
from server.planning import firming, service
from server.planning.mrp import EXCEPTION_CODES
from server.web.actions import messages
from server.web.render import language_of, render

CODE = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
CodeParam = Annotated[str | None, Parameter(max_length=40, pattern=CODE)]
RunParam = Annotated[int | None, Parameter(ge=1, le=2**31 - 1)]
PAGE_SIZE = 100
EXCEPTIONS_SHOWN = 200
DOCUMENT_PAGES = {"sales": "/sales-orders/", "production": "/production-orders/", "purchase": "/purchase-orders/"}


def source_view(source: str) -> dict[str, Any]:
    """A demand or supply as a page shows it: its kind, its words (an order and line, a planned order's item and
    period) and where it links to."""
    kind, _, rest = source.partition(":")
    if "@" in source and kind == source:
        item, _, period = source.rpartition("@")
        return {"kind": "planned", "item": item, "period": int(period), "text": source, "href": None}
    code, _, line = rest.partition(":")
    if kind in DOCUMENT_PAGES:
        return {"kind": kind, "text": f"{code} / {line}" if line else code, "href": DOCUMENT_PAGES[kind] + code}
    return {"kind": kind, "text": rest, "href": None}


async def planning_sites() -> list[str]:
    """The active sites the office user may plan for (server/accounts/site_scope.py)."""
    return [row["code"] for row in await Site.select(Site.code).where(
        within_scope(Site.archived == False, Site.code)).order_by(Site.code)]  # noqa: E712


async def _plan_page(request: Request, site: str | None, *, item: str | None = None, kind: str | None = None,
                     period: int | None = None, code: str | None = None, page: int = 1,
                     errors: list[str] | None = None, status_code: int = 200) -> Template:
    sites = await planning_sites()
    site = site if site in sites else (sites[0] if sites else None)
    run = changes = None
    orders: list[Any] = []
    found: list[Any] = []
    if site is not None:
        try:
            run = await service.latest_run(site)
        except ApiError as exc:
            if exc.code != "no_plan":
                raise
    totals = {"production": 0, "purchase": 0}
    if run is not None:
        orders = await service.planned_orders(run.id, item=item, kind=kind, period=period, limit=PAGE_SIZE,
                                              offset=(page - 1) * PAGE_SIZE)
        totals = await service.planned_totals(run.id, item=item, kind=kind, period=period)
        found = await service.plan_exceptions(run.id, language_of(request), item=item, code=code,
                                              limit=EXCEPTIONS_SHOWN)
        changes = await service.plan_changes(run.id)
    offers = await _offers({o.item for o in orders if o.kind == "purchase" and not o.firmed_as})
    filters = {k: v for k, v in (("site", site), ("item", item), ("kind", kind), ("period", period), ("code", code)) if v}
    return render(
        request, "planning_plan.html", status_code=status_code, sites=sites, site=site, run=run, orders=orders,
        exceptions=found, changes=changes, totals=totals, item=item or "", kind=kind or "", period=period or "",
        code=code or "", codes=EXCEPTION_CODES, errors=errors or [], done=request.query_params.get("done"),
        may_run=request.user.may("planning.write"), source=source_view, query=urlencode(filters), offers=offers,
        may_firm={"production": request.user.may("planning.write"), "purchase": request.user.may("purchasing.write")},
        page=page, pages=max(1, -(-sum(totals.values()) // PAGE_SIZE)), exceptions_shown=EXCEPTIONS_SHOWN,
        page_url=lambda number: "/planning?" + urlencode({**filters, "page": number}),
        made=[code for code in (request.query_params.get("made") or "").split(",") if code])


async def _offers(items: set[str]) -> dict[str, list[str]]:
    """The suppliers each bought item may be firmed to (the buyer may choose another than the plan's)."""
    if not items:
        return {}
    rows = await SupplierItem.select(SupplierItem.item, SupplierItem.supplier.code.as_alias("supplier")).where(
        SupplierItem.item.is_in(sorted(items)))
    offers: dict[str, list[str]] = {}
    for row in rows:
        offers.setdefault(row["item"], []).append(row["supplier"])
    return {item: sorted(suppliers) for item, suppliers in offers.items()}


@get("/planning", guards=[requires("planning.read")], include_in_schema=False)
async def plan_page(request: Request, site: CodeParam = None, item: CodeParam = None,
                    kind: Annotated[str | None, Parameter(pattern=r"^(production|purchase|)$")] = None,
                    period: Annotated[int | None, Parameter(ge=1, le=10_000)] = None,
                    code: Annotated[str | None, Parameter(max_length=30, pattern=r"^[a-z_]*$")] = None,
                    page: Annotated[int, Parameter(ge=1, le=10**6)] = 1) -> Template:
    return await _plan_page(request, site, item=item or None, kind=kind or None, period=period, code=code or None,
                            page=page)


@post("/planning/run", guards=[requires("planning.write")], include_in_schema=False)
async def run_page(request: Request) -> Template | Redirect:
    form = await request.form()
    site = str(form.get("site") or "")
    try:
        await service.run_mrp(site, office_who(request))
    except ApiError as exc:
        return await _plan_page(request, site, errors=messages(request, exc), status_code=exc.status_code)
    return Redirect("/planning?" + urlencode({"site": site, "done": "run"}), status_code=HTTP_303_SEE_OTHER)


@post("/planning/firm", guards=[requires("planning.read")], include_in_schema=False)
async def firm_page(request: Request) -> Template | Redirect:
    """The ticked planned orders of the latest plan made into draft orders: production by the planner
    (planning.write), purchases by the buyer (purchasing.write), who may choose another supplier per line."""
    form = await request.form()
    kind, site = str(form.get("kind") or ""), str(form.get("site") or "")
    if kind not in ("production", "purchase"):
        return await _plan_page(request, site, errors=[translate(language_of(request), "plan.firm_what")],
                                status_code=HTTP_400_BAD_REQUEST)
    if not request.user.may("planning.write" if kind == "production" else "purchasing.write"):
        raise PermissionDeniedException()
    keys = [str(key) for key in form.getall("keys")] if "keys" in form else []
    chosen = {key: str(form.get(f"supplier:{key}")) for key in keys if form.get(f"supplier:{key}")}
    try:
        data = FirmIn(keys=keys, suppliers=[{"key": k, "supplier": s} for k, s in chosen.items()] if kind == "purchase"
                      else [])
        run = await service.latest_run(site)
        async with write_transaction():
            if kind == "production":
                firmed = await firming.firm_production(run.id, data.keys, office_who(request))
            else:
                firmed = await firming.firm_purchases(run.id, data.keys, data.supplier_of(), office_who(request))
    except (ApiError, ValidationError) as exc:
        return await _plan_page(request, site, kind=kind, errors=messages(request, exc),
                                status_code=getattr(exc, "status_code", HTTP_422_UNPROCESSABLE_ENTITY))
    made = ",".join(dict.fromkeys(f.firmed_as for f in firmed))
    return Redirect("/planning?" + urlencode({"site": site, "kind": kind, "done": "firm", "made": made}),
                    status_code=HTTP_303_SEE_OTHER)


@get("/planning/records/{item:str}", guards=[requires("planning.read")], include_in_schema=False)
async def record_page(request: Request, item: Annotated[str, Parameter(max_length=40, pattern=CODE)],
                      run: RunParam = None, site: CodeParam = None) -> Template | Redirect:
    try:
        chosen = await service.get_run(run) if run else await service.latest_run(site or (await planning_sites() or ["NB1"])[0])
    except ApiError as exc:
        if exc.code != "no_plan":
            raise
        return Redirect("/planning", status_code=HTTP_303_SEE_OTHER)
    record = await service.plan_record(chosen.id, item)
    found = await service.plan_exceptions(chosen.id, language_of(request), item=item)
    orders = await service.planned_orders(chosen.id, item=item)
    return render(request, "planning_record.html", run=chosen, record=record, exceptions=found, orders=orders,
                  source=source_view)


@get("/planning/pegging", guards=[requires("planning.read")], include_in_schema=False)
async def pegging_page(request: Request, run: RunParam = None,
                       demand: Annotated[str | None, Parameter(max_length=120, pattern=r"^[A-Za-z0-9._:@-]*$")] = None
                       ) -> Template | Redirect:
    """Reached from a plan's links (a run and a demand); without them, the plan is where to choose one."""
    if not run or not demand:
        return Redirect("/planning", status_code=HTTP_303_SEE_OTHER)
    chosen = await service.get_run(run)
    tree = await service.pegging_tree(chosen.id, demand)
    return render(request, "planning_pegging.html", run=chosen, demand=demand, tree=tree, source=source_view)


PLANNING_HANDLERS = [plan_page, run_page, firm_page, record_page, pegging_page]
