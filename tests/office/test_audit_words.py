"""Every action the audit trail records, and every field a call names in a literal before/after, has words in both
catalogs, and so has every kind of record a call names, so the audit page never shows a Chinese reader `revoke`,
`revoked_at` or `device`. The calls are read from the source (`record_audit(who, "action", entity, key, before,
after, ...)` and `audit_change` under server/, devices/ and sync/), so an
action written tomorrow is checked the day it is written, whether or not a test happens to record one before the
page is read. Actions computed at run time (a document's lifecycle, a stock transaction's kind) are said through
the same keys and are covered by the pages that show them."""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from pathlib import Path

from server.i18n import catalog
from server.web.order_words import LABEL_FAMILIES

ROOT = Path(__file__).resolve().parents[2]
ACTION_AT, ENTITY_AT, BEFORE_AT, AFTER_AT = 1, 2, 4, 5


@functools.cache
def _calls() -> tuple[tuple[str, ast.Call], ...]:
    """Every record_audit call under server/, devices/ and sync/, read once for the module's tests."""
    return tuple(_read_calls())


def _read_calls() -> Iterator[tuple[str, ast.Call]]:
    for folder in ("server", "devices", "sync"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) in (
                        "record_audit", "audit_change"):
                    yield f"{path.relative_to(ROOT)}:{node.lineno}", node


def _literal_actions() -> dict[str, str]:
    return {node.args[ACTION_AT].value: where for where, node in _calls()
            if len(node.args) > ACTION_AT and isinstance(node.args[ACTION_AT], ast.Constant)}


def _literal_entities() -> dict[str, str]:
    return {node.args[ENTITY_AT].value: where for where, node in _calls()
            if len(node.args) > ENTITY_AT and isinstance(node.args[ENTITY_AT], ast.Constant)}


def _literal_fields() -> dict[str, str]:
    fields = {}
    for where, node in _calls():
        for at in (BEFORE_AT, AFTER_AT):
            if len(node.args) > at and isinstance(node.args[at], ast.Dict):
                fields |= {key.value: where for key in node.args[at].keys if isinstance(key, ast.Constant)}
    return fields


def test_the_source_is_read():
    actions = _literal_actions()
    assert {"create", "update", "delete", "revoke", "rotate_secret"} <= set(actions), actions
    assert {"device", "schedule", "sales_policy"} <= set(_literal_entities())
    assert "revoked_at" in _literal_fields()


def test_every_recorded_action_has_a_word_in_both_languages():
    for lang in ("en", "zh"):
        words = catalog(lang)
        missing = {action: where for action, where in _literal_actions().items() if f"audit.action_{action}" not in words}
        assert not missing, f"{lang}: no audit.action_<action> for {missing}"


def test_every_kind_of_record_the_trail_names_has_a_word_in_both_languages():
    for lang in ("en", "zh"):
        words = catalog(lang)
        missing = {entity: where for entity, where in _literal_entities().items() if f"entity.{entity}" not in words}
        assert not missing, f"{lang}: no entity.<kind> for {missing}"


def test_every_field_named_in_a_recorded_change_has_a_label_in_both_languages():
    for lang in ("en", "zh"):
        words = catalog(lang)
        missing = {name: where for name, where in _literal_fields().items()
                   if not any(f"{family}.{name}" in words for family in LABEL_FAMILIES)}
        assert not missing, f"{lang}: no label for {missing}"
