"""`python -m schemas.export`: the floor commands' argument schemas as JSON Schema for the PWA, written to
pwa/src/generated/commands.schema.json (`--check` only compares and fails when the file is stale).

The file is generated here and committed, rather than made by `make assets`: the PWA build stays a Node step that
needs no Python environment, and a change to a contract shows in review as a change to what the app validates.
tests/test_command_schemas.py fails when the committed file is not what this module writes.

Only a subset of JSON Schema is emitted, the one pwa/src/validate.js reads: `type` (a name, or a list with "null"),
`required`, `properties`, `items`, `minimum` / `exclusiveMinimum`, `maxLength`, `pattern`, `enum`, and `format`
as a hint for the message ("decimal", "date"). Decimals travel as strings, so a decimal is a string with a pattern
of its digits whose bounds (`minimum`, `exclusiveMinimum`) apply to its value. What the subset cannot say (a union
of kinds, cross-field rules such as "a reason to start downtime") is checked by the screens and, always, the server.
"""

from __future__ import annotations

import argparse
import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from schemas.commands import FLOOR_COMMANDS

TARGET = Path(__file__).resolve().parent.parent / "pwa" / "src" / "generated" / "commands.schema.json"
KEPT = ("type", "format", "required", "properties", "items", "minimum", "exclusiveMinimum", "maxLength", "pattern", "enum")
FORMAT_PATTERNS = {"date": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}
DIGITS = "x-decimal-digits"


def _number(value: Decimal | float | int) -> int | float:
    return int(value) if value == int(value) else float(value)


class DecimalStrings(GenerateJsonSchema):
    """A decimal as the wire carries it: a string of at most its digits, its bounds kept as numbers."""

    def decimal_schema(self, schema: core_schema.DecimalSchema) -> JsonSchemaValue:
        places, digits = schema.get("decimal_places"), schema.get("max_digits")
        lower = schema.get("ge", schema.get("gt"))
        sign = "" if lower is not None and lower >= 0 else "-?"
        whole = f"{{1,{digits - places}}}" if digits is not None and places is not None else "+"
        fraction = rf"(\.[0-9]{{1,{places}}})?" if places else ("" if places == 0 else r"(\.[0-9]+)?")
        pattern = f"^{sign}[0-9]{whole}{fraction}$"
        # A field's json_schema_extra (the OpenAPI's looser decimal pattern) overwrites `pattern` after this; the
        # digits the contract takes are kept aside so the export can put them back.
        result: dict[str, Any] = {"type": "string", "format": "decimal", "pattern": pattern, DIGITS: pattern}
        if schema.get("gt") is not None:
            result["exclusiveMinimum"] = _number(schema["gt"])
        if schema.get("ge") is not None:
            result["minimum"] = _number(schema["ge"])
        return result


def _subset(node: dict[str, Any], definitions: dict[str, Any]) -> dict[str, Any]:
    """The node reduced to the subset: references inlined, `X | None` as X with "null" among its types, a union of
    other kinds as only their types."""
    if "$ref" in node:
        return _subset(definitions[node["$ref"].rsplit("/", 1)[1]], definitions)
    if "anyOf" in node:
        branches = [_subset(branch, definitions) for branch in node["anyOf"]]
        kinds = [branch for branch in branches if branch.get("type") != "null"]
        if len(kinds) == 1:
            single = dict(kinds[0])
            if len(branches) > len(kinds):
                single["type"] = [single["type"], "null"]
            return single
        types = sorted({t for branch in branches for t in ([branch["type"]] if isinstance(branch["type"], str) else branch["type"])})
        return {"type": types}
    result = {key: node[key] for key in KEPT if key in node}
    if DIGITS in node:
        result["pattern"] = node[DIGITS]
    if "const" in node:
        result["enum"] = [node["const"]]
    if node.get("format") in FORMAT_PATTERNS:
        result.setdefault("pattern", FORMAT_PATTERNS[node["format"]])
    elif result.get("format") not in ("decimal", *FORMAT_PATTERNS):
        result.pop("format", None)
    if "properties" in result:
        result["properties"] = {name: _subset(value, definitions) for name, value in result["properties"].items()}
    if "items" in result:
        result["items"] = _subset(result["items"], definitions)
    return result


def command_schemas() -> dict[str, Any]:
    commands = {}
    for name, model in FLOOR_COMMANDS.items():
        full = model.model_json_schema(schema_generator=DecimalStrings)
        commands[name] = _subset(full, full.get("$defs", {}))
    return {"generated_by": "python -m schemas.export", "commands": commands}


def rendered() -> str:
    return json.dumps(command_schemas(), indent=1, ensure_ascii=False, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m schemas.export", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="do not write: fail when the committed file is stale")
    args = parser.parse_args(argv)
    text = rendered()
    if args.check:
        if not TARGET.exists() or TARGET.read_text(encoding="utf-8") != text:
            print(f"{TARGET} is stale: run `python -m schemas.export`", file=sys.stderr)
            return 1
        return 0
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET.relative_to(Path.cwd()) if TARGET.is_relative_to(Path.cwd()) else TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
