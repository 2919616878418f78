"""Backup and restore through the real `floorsync` command: what one factory wrote comes back on an empty database."""

from __future__ import annotations

import subprocess
from contextlib import closing

from tests.clients import anonymous, office
from tests.servers import BACKEND, FLOORSYNC, REPO


def _snapshot(client, unit: str) -> dict:
    return {
        "units": client.get(f"/api/units/{unit}").json(),
        "items": client.get("/api/items", params={"unit": unit, "sort": "code"}).json()["items"],
        "audit": [
            (e["action"], e["entity"], e["entity_key"], e["username"])
            for e in client.get("/api/audit", params={"username": "planner", "limit": 500}).json()["items"]
        ],
    }


def test_a_backup_restored_into_an_empty_database_gives_the_same_rows(fresh_server, unique, tmp_path):
    source = fresh_server(demo=True)
    unit = unique("BOX")
    with closing(office(source.url, "planner")) as planner:
        planner.post("/api/units", json={"code": unit, "name": "Box of 10"}).raise_for_status()
        for n, gtin in enumerate(["96385074", "4006381333931", None]):
            planner.post(
                "/api/items",
                json={"code": unique(f"CASTER{n}"), "name": f"Caster {n}", "type": "raw", "unit": unit, "gtin": gtin},
            ).raise_for_status()
        planner.patch(f"/api/units/{unit}", json={"name": "Box of 12"}).raise_for_status()
    with closing(office(source.url, "admin")) as admin:
        before = _snapshot(admin, unit)
    assert len(before["items"]) == 3 and before["units"]["name"] == "Box of 12"
    assert ("update", "unit", unit, "planner") in before["audit"]

    backup_file = tmp_path / "floorsync.backup"
    made = source.cli("backup", str(backup_file))
    assert backup_file.stat().st_size > 0 and str(backup_file) in made.stdout

    target = fresh_server(demo=False)
    with closing(anonymous(target.url)) as nobody:
        assert nobody.post("/api/auth/login", json={"username": "admin", "password": "floorsync-demo"}).status_code == 401
    target.stop()
    target.cli("restore", str(backup_file))
    target.start()

    with closing(office(target.url, "admin")) as admin:
        assert _snapshot(admin, unit) == before
    with closing(office(target.url, "planner")) as planner:
        assert planner.get("/api/auth/me").json()["username"] == "planner"


def test_restore_of_a_missing_file_fails_with_a_message(server, tmp_path):
    missing = tmp_path / "no-such.backup"
    result = server.cli("restore", str(missing), check=False)
    assert result.returncode != 0
    assert "does not exist" in result.stderr and str(missing) in result.stderr


def test_restore_of_a_file_that_is_not_a_backup_fails_and_changes_nothing(fresh_server, tmp_path):
    target = fresh_server(demo=True)
    junk = tmp_path / "junk.backup"
    junk.write_bytes(b"this is not a database backup\n" * 10)
    target.stop()
    result = target.cli("restore", str(junk), check=False)
    assert result.returncode != 0
    assert ("pg_restore failed" if BACKEND == "postgres" else "not a SQLite backup") in result.stderr
    target.start()
    with closing(office(target.url, "admin")) as admin:
        assert admin.get("/api/auth/me").status_code == 200


def test_a_backup_into_a_missing_directory_fails_with_a_message(server, tmp_path):
    result = server.cli("backup", str(tmp_path / "nowhere" / "x.backup"), check=False)
    assert result.returncode != 0 and "does not exist" in result.stderr


def test_a_postgres_password_is_never_shown_when_pg_dump_fails(server, tmp_path):
    """The URL's password reaches pg_dump only through PGPASSWORD; a failure's message must not repeat it.

    The database named does not exist (or no PostgreSQL answers at all on the SQLite run): pg_dump fails either way.
    """
    password = "pw-" + "s3cr3t" * 3
    env = {**server.env, "FLOORSYNC_DATABASE_URL": f"postgresql://postgres:{password}@127.0.0.1:5432/no_such_database_here"}
    result = subprocess.run([FLOORSYNC, "backup", str(tmp_path / "x.backup")], env=env, capture_output=True, text=True, cwd=REPO)
    assert result.returncode != 0 and "pg_dump failed" in result.stderr
    assert password not in result.stdout + result.stderr
    assert not (tmp_path / "x.backup").exists() or (tmp_path / "x.backup").stat().st_size == 0
