"""The production area's floor commands: how `stock.issue`, `production.report` and `production.downtime` from a
device reach `execution.py`. A device scoped to work centres acts only on those."""

from __future__ import annotations

from typing import Any

from schemas.production import ProductionDowntimeArgs, ProductionReportArgs, StockIssueArgs
from server.actors import Who
from server.production.execution import issue_material, record_downtime, report_production
from sync.registry import Command, CommandContext


async def stock_issue(ctx: CommandContext, args: StockIssueArgs) -> dict[str, Any]:
    return await issue_material(args, Who.device(ctx))


async def production_report(ctx: CommandContext, args: ProductionReportArgs) -> dict[str, Any]:
    return await report_production(args, Who.device(ctx))


async def production_downtime(ctx: CommandContext, args: ProductionDowntimeArgs) -> dict[str, Any]:
    return await record_downtime(args, Who.device(ctx))


COMMANDS = (
    Command("stock.issue", 1, StockIssueArgs, stock_issue, stock_places=lambda args: [(args.item, args.location)]),
    # The finished item is the order's: its place is locked when the report is applied.
    Command("production.report", 1, ProductionReportArgs, production_report),
    Command("production.downtime", 1, ProductionDowntimeArgs, production_downtime),
)
