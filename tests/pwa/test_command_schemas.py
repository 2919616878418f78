"""The floor commands' argument schemas the PWA validates with are the server's own: the committed
pwa/src/generated/commands.schema.json is what `python -m schemas.export` writes now, and names the very models the
server registers for each command."""

from __future__ import annotations

import json
import subprocess
import sys

from schemas import export
from schemas.commands import FLOOR_COMMANDS
from server.app import wire_areas
from sync.registry import resolve
from tests.servers import REPO


def test_the_committed_schema_file_is_what_the_contracts_say_now():
    committed = export.TARGET.read_text(encoding="utf-8")
    assert committed == export.rendered(), "pwa/src/generated/commands.schema.json is stale: run `python -m schemas.export`"


def test_the_check_flag_fails_on_a_stale_file_and_passes_on_a_fresh_one(tmp_path, monkeypatch):
    assert subprocess.run([sys.executable, "-m", "schemas.export", "--check"], cwd=REPO).returncode == 0
    stale = tmp_path / "commands.schema.json"
    stale.write_text("{}\n", encoding="utf-8")
    monkeypatch.setattr(export, "TARGET", stale)
    assert export.main(["--check"]) == 1


def test_every_floor_command_the_server_takes_is_exported_with_its_own_model():
    wire_areas()  # the commands the server installs at start-up
    for name, model in FLOOR_COMMANDS.items():
        command = resolve(name)
        assert command is not None, name
        assert command.args_model is model, name
    exported = json.loads(export.TARGET.read_text(encoding="utf-8"))["commands"]
    assert set(exported) == set(FLOOR_COMMANDS) == {
        "receipt.receive", "stock.issue", "stock.move", "stock.count", "production.report", "production.downtime",
        "quality.record", "shipment.pack", "shipment.load", "delivery.sign",
    }


def test_a_quantity_is_a_positive_decimal_string_and_a_count_may_be_zero():
    exported = export.command_schemas()["commands"]
    quantity = exported["stock.move"]["properties"]["quantity"]
    counted = exported["stock.count"]["properties"]["counted_quantity"]
    assert quantity == {"type": "string", "format": "decimal", "pattern": r"^[0-9]{1,12}(\.[0-9]{1,6})?$", "exclusiveMinimum": 0}
    assert counted["minimum"] == 0 and "exclusiveMinimum" not in counted
    assert exported["stock.move"]["required"] == ["item", "from_location", "to_location", "quantity"]
