"""Every refusal the server can give has a sentence a Chinese reader gets in Chinese (`refusal.<code>` in both
catalogs), filled only with values that each place raising it passes, so that an office page never falls back to the
API's English message.

The codes are read from the source itself, so a refusal written tomorrow is checked the day it is written: every call
`refuse("code", message, status?, **details)`, `ApiError(status, "code", message, details?)` and
`Refusal("code", message, details?)` under server/ (migrations left out) whose code is a literal string. A call whose
details are keyword arguments (`refuse`) or a dict literal (`ApiError`, `Refusal`), or absent, has its value names
read with `ast`; a call that passes details it builds elsewhere (`**details`, a variable, a dict with a `**` spread)
cannot be read statically and is skipped by the second test (the first still wants its code's sentence). Codes
computed at run time (a lifecycle's `<prefix>_closed`, a scan's or a planning error's own code) are not listed here:
`said_in` gives them the kind of problem or a sentence naming the code, never English."""

from __future__ import annotations

import ast
import inspect
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from server.document_rules import Refusal as DocumentRefusal
from server.errors import ApiError
from server.i18n import catalog
from server.web.forms import said_in

SERVER = Path(__file__).resolve().parents[2] / "server"
# Where each call shape takes its code and its details, checked against the signatures below.
CODE_AT = {"refuse": 0, "ApiError": 1, "Refusal": 0}
DETAILS_AT = {"ApiError": 3, "Refusal": 2}


@dataclass(frozen=True)
class Site:
    code: str
    where: str
    details: frozenset[str] | None  # the value names the call passes; None when they cannot be read statically


def _called(node: ast.Call) -> str | None:
    return node.func.id if isinstance(node.func, ast.Name) else node.func.attr if isinstance(node.func, ast.Attribute) else None


def _argument(node: ast.Call, position: int, name: str) -> ast.expr | None:
    if len(node.args) > position:
        return node.args[position]
    return next((keyword.value for keyword in node.keywords if keyword.arg == name), None)


def _dict_names(node: ast.expr | None) -> frozenset[str] | None:
    if node is None or (isinstance(node, ast.Constant) and node.value is None):
        return frozenset()
    if isinstance(node, ast.Dict) and all(isinstance(k, ast.Constant) and isinstance(k.value, str) for k in node.keys):
        return frozenset(k.value for k in node.keys)  # type: ignore[union-attr]
    return None  # a variable, a call, or a dict with a ** spread


def refusal_sites() -> Iterator[Site]:
    for path in sorted(SERVER.rglob("*.py")):
        if "piccolo_migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            shape = _called(node) if isinstance(node, ast.Call) else None
            if shape not in CODE_AT:
                continue
            code = _argument(node, CODE_AT[shape], "code")
            if not (isinstance(code, ast.Constant) and isinstance(code.value, str)):
                continue  # a code computed at run time (a Refusal passed on, a lifecycle's prefix)
            if shape == "refuse":
                spread = any(keyword.arg is None for keyword in node.keywords)
                details = None if spread else frozenset(keyword.arg for keyword in node.keywords)
            else:
                details = _dict_names(_argument(node, DETAILS_AT[shape], "details"))
            yield Site(code.value, f"{path.relative_to(SERVER.parent)}:{node.lineno}", details)


def placeholders(sentence: str) -> set[str]:
    return set(re.findall(r"\{(\w+)\}", sentence))


def test_the_call_shapes_read_their_codes_and_details_where_the_signatures_put_them():
    assert list(inspect.signature(ApiError).parameters)[:4] == ["status_code", "code", "message", "details"]
    assert list(inspect.signature(DocumentRefusal).parameters)[:3] == ["code", "message", "details"]
    from server.errors import refuse
    assert list(inspect.signature(refuse).parameters)[:2] == ["code", "message"]
    assert inspect.signature(refuse).parameters["details"].kind is inspect.Parameter.VAR_KEYWORD


def test_every_refusal_code_has_a_sentence_in_both_languages_with_the_same_values():
    english, chinese = catalog("en"), catalog("zh")
    codes = {site.code for site in refusal_sites()}
    assert len(codes) > 140  # the scan found the server's refusals, not a handful
    missing = sorted(code for code in codes if f"refusal.{code}" not in english or f"refusal.{code}" not in chinese)
    assert missing == []
    differ = sorted(code for code in codes
                    if placeholders(english[f"refusal.{code}"]) != placeholders(chinese[f"refusal.{code}"]))
    assert differ == []
    assert all(re.search(r"[\u4e00-\u9fff]", chinese[f"refusal.{code}"]) for code in codes), "Chinese, not English copies"


def test_every_sentence_names_only_values_that_each_call_site_passes():
    english = catalog("en")
    sites = list(refusal_sites())
    read = [site for site in sites if site.details is not None]
    assert len(read) > 180 and len(sites) - len(read) < 10  # almost every call site is read, not skipped
    lacking = sorted(f"{site.where} {site.code}: {sorted(placeholders(english[f'refusal.{site.code}']) - site.details)}"
                     for site in read if not placeholders(english[f"refusal.{site.code}"]) <= site.details)
    assert lacking == []


def test_a_chinese_reader_never_gets_the_english_message():
    english = "Only 3 of 'X' at 'A-1'"
    # The sentence, with the refusal's values; a kind of record is said in the reader's words.
    assert said_in("zh", "unknown_lot", "No lot", {"item": "CH-1", "lot": "L7"}) == "CH-1 没有批次 L7"
    assert said_in("zh", "not_found", "No department 'QA'", {"entity": "department", "key": "QA"}) == "部门 QA 不存在"
    assert said_in("zh", "built_in_role", "planner is built in", {"role": "planner"}).startswith("计划员 是内置角色")
    # Values the sentence needs are missing, or are an internal name with no catalog word: the kind of problem.
    assert said_in("zh", "insufficient_stock", english, {"item": "X"}) == "库存不足"
    assert said_in("zh", "not_found", "No MRP run 7", {"entity": "mrp_run", "key": "7"}) == "未找到"
    # A code no catalog knows yet: named as a code, in Chinese.
    assert said_in("zh", "brand_new_rule", english, {}) == "操作被拒绝（代码 brand_new_rule）"
    # An English reader keeps the API's message as it is.
    assert said_in("en", "insufficient_stock", english, {"item": "X"}) == english
    assert said_in("en", "brand_new_rule", english) == english
