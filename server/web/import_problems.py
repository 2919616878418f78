"""The problems of an imported file (sales orders, forecasts, master data) in the reader's language, on the import
pages and in the problems file a reader downloads: each problem is said from its code and values (`params`) by the
catalog, so a Chinese reader gets a Chinese sentence with the file's figures in it and never the API's English."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from pathlib import PurePath
from typing import Any
from urllib.parse import quote

from litestar import Response
from litestar.status_codes import HTTP_200_OK

from server.i18n import DEFAULT_LANGUAGE, has_key, translate
from server.spreadsheets import spreadsheet_cell

# Where a problem's sentence is looked for, in order: the import's own sentences, then the form refusals' (the same
# refusal said the same way: an unknown item, too many decimals); each is filled with the problem's values and
# skipped when it names a value this problem lacks.
SENTENCES = ("import_problem", "refusal")
# What is said when no sentence fits the values: the kind of problem alone, in the reader's words.
KINDS = ("soimport_problem", "problem")
# Values that are words of ours rather than the file's (a kind of record, an order status, a built-in role): said in
# the reader's language too.
WORD_VALUES = {"entity": "entity.{}", "status": "so.status_{}", "role": "role.{}"}


def word_said(lang: str, name: str, value: Any) -> Any:
    """A value in the reader's words where it is one of ours the catalogs name (`entity` 'item': '物料'), else as it is."""
    pattern = WORD_VALUES.get(name)
    if pattern is not None and has_key(pattern.format(value)):
        return translate(lang, pattern.format(value))
    return value


def problem_said(lang: str, problem: Mapping[str, Any]) -> str:
    """One problem in the reader's language: the English message as the API gives it to an English reader; to another,
    the catalog's sentence for its code filled with its values, else the kind of problem, else its code."""
    code, message = str(problem.get("code", "")), str(problem.get("message", ""))
    if lang == DEFAULT_LANGUAGE:
        return message
    values = {name: word_said(lang, name, value) for name, value in (problem.get("params") or {}).items()}
    for family in SENTENCES:
        if has_key(f"{family}.{code}"):
            try:
                return translate(lang, f"{family}.{code}").format(**values)
            except (KeyError, IndexError):
                continue
    for family in KINDS:
        if has_key(f"{family}.{code}"):
            return translate(lang, f"{family}.{code}")
    return translate(lang, "import.problem_code", code=code)


def problems_said(lang: str, problems: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The problems as a page lists them: each with its `text` in the reader's language."""
    return [{**problem, "text": problem_said(lang, problem)} for problem in problems]


def problems_file(lang: str, rows: Sequence[tuple[int, list[str]]], problems: Sequence[Mapping[str, Any]],
                  column_key: str = "column") -> str:
    """The file as it was read (row by row, blank rows left out) with one more column: each row's problems in the
    reader's language, '<column>: <sentence>' apart by ' | ' (the header's cell is the column's title, then the
    header's own problems). Problems of the file itself (row 0) come first, on a row of their own. A CSV with a byte order mark, so Excel reads it as UTF-8; no cell starts a formula."""
    by_row: dict[int, list[str]] = {}
    for problem in problems:
        column = str(problem.get(column_key) or "")
        said = problem_said(lang, problem)
        by_row.setdefault(int(problem.get("row") or 0), []).append(f"{column}: {said}" if column else said)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    width = max((len(cells) for _, cells in rows), default=0)
    if by_row.get(0):
        writer.writerow([""] * width + [spreadsheet_cell(" | ".join(by_row[0]))])
    for index, (number, cells) in enumerate(rows):
        said = " | ".join(by_row.get(number, []))
        if index == 0:  # the header: the new column's title, and the header's own problems after it
            title = translate(lang, "import.problems_column")
            said = f"{title}: {said}" if said else title
        writer.writerow([spreadsheet_cell(cell) for cell in cells] + [""] * (width - len(cells)) + [spreadsheet_cell(said)])
    return "\ufeff" + out.getvalue()


def problems_download(lang: str, rows: Sequence[tuple[int, list[str]]], problems: Sequence[Mapping[str, Any]],
                      filename: str, column_key: str = "column") -> Response:
    """The problems file as a download named after the uploaded file ('orders.xlsx' gives 'orders-problems.csv')."""
    name = quote(f"{PurePath(filename).stem or 'import'}-problems.csv")
    return Response(problems_file(lang, rows, problems, column_key), status_code=HTTP_200_OK,
                    media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f"attachment; filename=\"problems.csv\"; filename*=UTF-8''{name}"})
