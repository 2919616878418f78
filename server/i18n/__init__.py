"""Message catalogs of the office UI (English and Simplified Chinese) and the choice of language for a request."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

LANGUAGES = ("en", "zh")
DEFAULT_LANGUAGE = "en"
CATALOG_DIR = Path(__file__).parent


@cache
def catalog(lang: str) -> dict[str, str]:
    return json.loads((CATALOG_DIR / f"{lang}.json").read_text(encoding="utf-8"))


def has_key(key: str) -> bool:
    return key in catalog(DEFAULT_LANGUAGE)


def translate(lang: str, key: str, **values: object) -> str:
    """The message for `key`; English when the language lacks it, and the key made readable when no catalog has it
    (a field another module added last week shows as 'Lead time days' rather than breaking the page)."""
    language = lang if lang in LANGUAGES else DEFAULT_LANGUAGE
    text = catalog(language).get(key) or catalog(DEFAULT_LANGUAGE).get(key)
    if text is None:
        text = key.rsplit(".", 1)[-1].replace("_", " ").capitalize()
    return text.format(**values) if values else text


@dataclass(frozen=True)
class Message:
    """A sentence with values in it, kept as its catalog key and the values, so that it is said in the reader's
    language when it is shown; `english` is what the API says to its clients."""

    key: str
    params: Mapping[str, object] = field(default_factory=dict)

    def text(self, lang: str) -> str:
        """Values that are messages themselves (or lists of them) are said in the same language."""
        values = {name: _said(lang, value) for name, value in self.params.items()}
        return translate(lang, self.key, **values)

    def english(self) -> str:
        return self.text(DEFAULT_LANGUAGE)


def _said(lang: str, value: object) -> object:
    if isinstance(value, Message):
        return value.text(lang)
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, Message) for v in value):
        return translate(lang, "list.separator").join(v.text(lang) for v in value)
    return value


def language_from_header(accept_language: str | None) -> str | None:
    """The first supported language in an Accept-Language header, honouring q-values ('zh-CN,zh;q=0.9,en;q=0.8')."""
    if not accept_language:
        return None
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES and quality > 0:
            ranked.append((-quality, position, primary))
    return min(ranked)[2] if ranked else None


def anonymous_language(cookie: str | None, accept_language: str | None) -> str:
    if cookie in LANGUAGES:
        return cookie  # type: ignore[return-value]
    return language_from_header(accept_language) or DEFAULT_LANGUAGE
