"""Demo data: a small office-chair factory. Loaded by `make run` into an empty database."""

from __future__ import annotations

from schemas.accounts import UserIn
from server.accounts.service import create_user
from server.accounts.tables import User

DEMO_PASSWORD = "floorsync-demo"
DEMO_LOGINS: list[tuple[str, str, str]] = [
    ("admin", DEMO_PASSWORD, "admin"),
    ("sales", DEMO_PASSWORD, "sales"),
    ("planner", DEMO_PASSWORD, "planner"),
    ("buyer", DEMO_PASSWORD, "buyer"),
    ("warehouse", DEMO_PASSWORD, "warehouse"),
    ("supervisor", DEMO_PASSWORD, "production_supervisor"),
    ("quality", DEMO_PASSWORD, "quality"),
    ("logistics", DEMO_PASSWORD, "logistics"),
    ("viewer", DEMO_PASSWORD, "viewer"),
]


async def load_demo(only_if_empty: bool) -> list[tuple[str, str, str]] | None:
    if only_if_empty and await User.count() > 0:
        return None
    for username, password, role in DEMO_LOGINS:
        await create_user(
            UserIn(username=username, display_name=username.title(), password=password, roles=[role]), actor=None
        )
    return DEMO_LOGINS
