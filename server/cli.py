"""The `floorsync` command: serve, migrate, load demo data, manage users, back up and restore; and the engines on
standard problems (scan, mrp, jobshop)."""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import sys
import warnings
from collections.abc import Awaitable, Callable
from typing import TypeVar

os.environ.setdefault("PICCOLO_CONF", "server.piccolo_conf")


def _migrate() -> None:
    from piccolo.apps.migrations.commands.forwards import run_forwards

    from server.db import prepare_engine, release_engine

    async def forwards():
        await prepare_engine()
        try:
            return await run_forwards(app_name="all")
        finally:
            await release_engine()

    result = asyncio.run(forwards())
    if not result.success:
        raise SystemExit(f"migration failed: {result.message}")


T = TypeVar("T")


def _write(action: Callable[[], Awaitable[T]]) -> T:
    """A command-line action in one transaction of its own, as the server's entry points open one."""
    from server.db import write_transaction

    async def run() -> T:
        async with write_transaction():
            return await action()

    return asyncio.run(run())


def cmd_migrate(_: argparse.Namespace) -> int:
    _migrate()
    print("database is up to date")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    trusted = os.environ.get("FLOORSYNC_TRUSTED_PROXIES", "127.0.0.1")
    if args.proxy_headers and "*" in [part.strip() for part in trusted.split(",")]:
        print("floorsync serve: FLOORSYNC_TRUSTED_PROXIES='*' lets any client choose the address its requests (and "
              "login attempts) are counted under: name the proxy's address instead", file=sys.stderr)
    uvicorn.run(
        "server.app:app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        proxy_headers=args.proxy_headers,
        forwarded_allow_ips=trusted,
        log_level="info",
        access_log=False,
    )
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from server.demo import load_demo

    logins = asyncio.run(load_demo(only_if_empty=args.if_empty))
    if logins is None:
        print("the database already has data; demo data not loaded")
        return 0
    print_logins(logins)
    return 0


def print_logins(logins: list[tuple[str, str, str]]) -> None:
    print("Demo logins (username / password / roles):")
    for username, password, roles in logins:
        print(f"  {username:<12} {password:<16} {roles}")


def cmd_run(args: argparse.Namespace) -> int:
    """What `make run` does: migrate, load the demo factory into an empty database, print the logins, serve."""
    from server.demo import DEMO_LOGINS, load_demo

    _migrate()
    loaded = asyncio.run(load_demo(only_if_empty=True))
    print_logins(loaded or DEMO_LOGINS)
    print(f"Floorsync is at http://{args.host}:{args.port}/  (office UI)")
    return cmd_serve(args)


def cmd_create_user(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from schemas.accounts import UserIn
    from server.accounts.service import create_user
    from server.actors import Who
    from server.errors import ApiError

    try:
        data = UserIn(username=args.username, display_name=args.name or args.username, password=args.password,
                      roles=args.role, language=args.language)
        user = _write(lambda: create_user(data, Who.system()))
    except (ValidationError, ApiError) as exc:
        # The same refusals as the office screen's (a weak password, a taken name), as JSON like enrol-code's.
        code = exc.code if isinstance(exc, ApiError) else "invalid_user"
        message = exc.message if isinstance(exc, ApiError) else str(exc)
        print(json.dumps({"error": {"code": code, "message": message}}))
        return 1
    print(json.dumps(user.model_dump(mode="json")))
    return 0


def cmd_enrol_code(args: argparse.Namespace) -> int:
    """The same enrolment an admin makes on the office screen, for provisioning devices from a script."""
    from pydantic import ValidationError

    from devices.service import create_enrolment
    from schemas.sync import DeviceScope, EnrolmentRequest
    from server.actors import Who
    from server.errors import ApiError

    try:
        # The same contract as the office screen's, so a script cannot make a code that is born expired (ttl 0).
        request = EnrolmentRequest(
            scope=DeviceScope(site=args.site, warehouses=args.warehouse, work_centres=args.work_centre, route=args.route),
            ttl_minutes=args.ttl_minutes,
        )
        code, expires_at = _write(lambda: create_enrolment(request.scope, request.ttl_minutes, Who.system()))
    except (ValidationError, ApiError) as exc:
        print(json.dumps({"error": {"code": getattr(exc, "code", "invalid_enrolment"), "message": str(exc)}}))
        return 1
    print(json.dumps({"code": code, "expires_at": expires_at.isoformat()}))
    return 0


def cmd_scan(args: argparse.Namespace) -> int:
    """The interpretation of one scan (DESIGN.md section 6); with a reachable database, also what it resolves to."""
    from server.scan.cli import scan_command

    output, status = scan_command(args.code, offline=args.offline)
    print(json.dumps(output, ensure_ascii=False))
    return status


def cmd_mrp(args: argparse.Namespace) -> int:
    """The MRP records of a problem file (DESIGN.md section 6), planned by the engine the factory's plan uses; with
    --live, a run of the factory's own plan for a site, as the office starts one."""
    if args.live:
        return _mrp_live(args.site)
    if not args.file:
        print(json.dumps({"error": {"code": "no_problem", "message": "give a problem FILE, or --live --site CODE"}}))
        return 1
    from server.planning.problem_file import solve_file

    gc.disable()  # a plan is millions of small tuples and no cycles; the process ends after printing it
    try:
        with open(args.file, encoding="utf-8") as source:
            data = json.load(source)
    except (OSError, ValueError) as exc:
        print(json.dumps({"error": {"code": "unreadable_problem", "message": f"{args.file}: {exc}"}}))
        return 1
    output, status = solve_file(data)
    print(json.dumps(output, ensure_ascii=False))
    return status


def cmd_jobshop(args: argparse.Namespace) -> int:
    """The makespan of an OR-Library job-shop instance (DESIGN.md section 6), scheduled by the engine that plans
    the factory; a file that cannot be read is a JSON error and exit status 1."""
    from server.planning.jobshop_file import solve_file

    if args.seconds <= 0 or args.workers < 1:
        print(json.dumps({"error": {"code": "invalid_limit", "message": "--seconds and --workers must be above 0"}}))
        return 1
    try:
        with open(args.file, encoding="utf-8") as source:
            text = source.read()
    except (OSError, ValueError) as exc:
        print(json.dumps({"error": {"code": "unreadable_instance", "message": f"{args.file}: {exc}"}}))
        return 1
    output, status = solve_file(text, args.seconds, args.workers, with_schedule=args.schedule, with_trace=args.trace)
    print(json.dumps(output))
    return status


def _mrp_live(site: str) -> int:
    from server.actors import Who
    from server.db import prepare_engine, release_engine
    from server.errors import ApiError
    from server.planning.service import run_mrp

    async def run():
        await prepare_engine()
        try:
            return await run_mrp(site, Who(username="command"), trigger="command")
        finally:
            await release_engine()

    try:
        result = asyncio.run(run())
    except ApiError as exc:
        print(json.dumps({"error": {"code": exc.code, "message": exc.message}}, ensure_ascii=False))
        return 1
    print(result.model_dump_json())
    return 0


def cmd_compact_feed(args: argparse.Namespace) -> int:
    from sync.compaction import compact

    print(json.dumps(asyncio.run(compact(keep=args.keep))))
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from server.backup import backup

    backup(args.file)
    print(f"backup written to {args.file}")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from server.backup import restore

    restore(args.file)
    print(f"restored from {args.file}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="floorsync", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    def serving(p: argparse.ArgumentParser) -> None:
        p.add_argument("--host", default=os.environ.get("FLOORSYNC_HOST", "127.0.0.1"))
        p.add_argument("--port", type=int, default=int(os.environ.get("FLOORSYNC_PORT", "8000")))
        p.add_argument("--workers", type=int, default=1)
        p.add_argument("--proxy-headers", action="store_true",
                       default=os.environ.get("FLOORSYNC_PROXY_HEADERS", "0").lower() in ("1", "true", "yes"),
                       help="trust X-Forwarded-For/-Proto from FLOORSYNC_TRUSTED_PROXIES (default: FLOORSYNC_PROXY_HEADERS)")

    serving(sub.add_parser("serve", help="serve the API, the office UI and the PWA"))
    serving(sub.add_parser("run", help="migrate, load demo data if the database is empty, serve"))
    sub.add_parser("migrate", help="apply database migrations")
    demo = sub.add_parser("demo", help="load the demo factory")
    demo.add_argument("--if-empty", action="store_true", help="only when the database has no users")

    user = sub.add_parser("create-user", help="create an office user")
    user.add_argument("username")
    user.add_argument("--password", required=True)
    user.add_argument("--role", action="append", required=True, help="repeat for several roles")
    user.add_argument("--name")
    user.add_argument("--language", default="en", choices=["en", "zh"])

    enrol = sub.add_parser("enrol-code", help="print a one-time device enrolment code as JSON")
    enrol.add_argument("--site", required=True)
    enrol.add_argument("--warehouse", action="append", default=[], help="repeat for several")
    enrol.add_argument("--work-centre", action="append", default=[], help="repeat for several")
    enrol.add_argument("--route")
    enrol.add_argument("--ttl-minutes", type=int, default=15)
    scan = sub.add_parser("scan", help="print what a scanned string says as JSON (and what it resolves to)")
    scan.add_argument("code", help="the scanned string; FNC1 as ASCII 29 or FLOORSYNC_SCAN_GS_STANDIN")
    scan.add_argument("--offline", action="store_true", help="only parse: do not look the code up in the database")
    mrp = sub.add_parser("mrp", help="print the MRP records of a time-bucketed problem (JSON) as JSON")
    mrp.add_argument("file", nargs="?", help="the problem: horizon, items, bom, gross_requirements (DESIGN.md section 6)")
    mrp.add_argument("--live", action="store_true", help="run the factory's own MRP for --site on the database")
    mrp.add_argument("--site", default="NB1", help="the site a --live run plans (default NB1, the demo's)")
    jobshop = sub.add_parser("jobshop", help="print the makespan of an OR-Library job-shop instance as JSON")
    jobshop.add_argument("file", help="the instance: a `jobs machines` line, then `machine duration` pairs per job")
    jobshop.add_argument("--seconds", type=float, default=10.0, help="the solver's time limit (default 10)")
    jobshop.add_argument("--workers", type=int, default=2, help="the solver's threads (default 2)")
    jobshop.add_argument("--schedule", action="store_true", help="also print every operation's machine, start, end")
    jobshop.add_argument("--trace", action="store_true", help="also print each improving makespan and its second")
    compact = sub.add_parser("compact-feed", help="compact the devices' change feed")
    compact.add_argument("--keep", type=int, default=100_000, help="newest positions kept whole")

    for name, text in (("backup", "write a backup of the database to FILE"), ("restore", "restore FILE into the database")):
        p = sub.add_parser(name, help=text)
        p.add_argument("file")
    return parser


COMMANDS = {
    "serve": cmd_serve,
    "run": cmd_run,
    "migrate": cmd_migrate,
    "demo": cmd_demo,
    "create-user": cmd_create_user,
    "enrol-code": cmd_enrol_code,
    "scan": cmd_scan,
    "mrp": cmd_mrp,
    "jobshop": cmd_jobshop,
    "compact-feed": cmd_compact_feed,
    "backup": cmd_backup,
    "restore": cmd_restore,
}


def _database_where() -> str:
    """The database the command talks to, as a newcomer would name it (never its password)."""
    from urllib.parse import urlparse

    from server.settings import database_url_from_env, is_postgres_url, sqlite_path_from_url

    url = database_url_from_env()
    if not is_postgres_url(url):
        return f"the SQLite database {sqlite_path_from_url(url)}"
    parsed = urlparse(url)
    return f'the PostgreSQL database "{parsed.path.lstrip("/") or "postgres"}" at {parsed.hostname or "127.0.0.1"}:{parsed.port or 5432}'


def database_problem(error: BaseException) -> str | None:
    """One line that tells a newcomer what to do when the database is not there or not migrated yet, or None for any
    other failure (a real bug keeps its traceback). The cause may be wrapped, so the whole chain is looked at."""
    import sqlite3

    import asyncpg

    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        text = str(error).splitlines()[0] if str(error) else type(error).__name__
        if isinstance(error, asyncpg.UndefinedTableError) or (
            isinstance(error, sqlite3.OperationalError) and text.startswith("no such table")
        ):
            return f"{_database_where()} has no Floorsync tables yet ({text}): run `floorsync migrate` first"
        if isinstance(error, asyncpg.InvalidCatalogNameError):
            return f"{_database_where()} does not exist: create it (createdb) or point FLOORSYNC_DATABASE_URL at another"
        if isinstance(error, (asyncpg.InvalidPasswordError, asyncpg.InvalidAuthorizationSpecificationError)):
            return f"{_database_where()} refused the login ({text}): check the user in FLOORSYNC_DATABASE_URL"
        if isinstance(error, sqlite3.OperationalError) and text.startswith("unable to open"):
            return f"{_database_where()} cannot be opened ({text}): does its folder exist?"
        if isinstance(error, OSError):
            return f"{_database_where()} cannot be reached ({text}): is the server running? (FLOORSYNC_DATABASE_URL)"
        error = error.__cause__ or error.__context__
    return None


# Commands that need a migrated database: a SQLite file that is not there yet is not made empty by them.
NEEDS_TABLES = {"demo", "create-user", "enrol-code", "compact-feed", "backup"}


def _missing_sqlite_file() -> str | None:
    from server.settings import database_url_from_env, is_postgres_url, sqlite_path_from_url

    url = database_url_from_env()
    if is_postgres_url(url) or sqlite_path_from_url(url).exists():
        return None
    return f"{_database_where()} does not exist yet: run `floorsync migrate` first"


def _needs_areas(args: argparse.Namespace) -> bool:
    """Whether the command writes or resolves through the areas as the server does. The migrations (Piccolo's own),
    the copies of the database and the MRP and scheduling engines on a problem file (pure functions) do without
    them, and so without loading the whole application, which costs a command over a CPU-second before it starts."""
    if args.command in ("migrate", "backup", "restore", "jobshop"):
        return False
    return not (args.command == "mrp" and not args.live)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command != "serve":
        # Piccolo warns when it cannot reach PostgreSQL as the engine is made; the one line below says it better.
        warnings.filterwarnings("ignore", message=r".*Unable to (connect to database|fetch server version)")
    problem = _missing_sqlite_file() if args.command in NEEDS_TABLES else None
    if problem:
        print(f"floorsync {args.command}: {problem}", file=sys.stderr)
        return 1
    if _needs_areas(args):
        from server.app import wire_areas

        wire_areas()  # the demo, enrolment and scan commands write and resolve as the server does
    try:
        return COMMANDS[args.command](args)
    except Exception as error:
        problem = database_problem(error)
        if problem is None:
            raise
        print(f"floorsync {args.command}: {problem}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
