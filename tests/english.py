"""What a Chinese screen may not show: a run of two or more English words, a raw status (a lone lowercase word) or a
field's internal name (`shipped_quantity`, `lines[10].quantity`). Codes (upper case, digits), units and what the
data itself says (stripped by the caller, who knows its data) are not English prose."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

# Words that stay as they are in a Chinese UI, each with its reason.
ALLOWED = {
    "English": "the language switch names the other language in that language",
    "Floorsync": "the product's name",
}
UNITS = {"pcs", "kg", "g", "m", "mm", "cm", "l", "ml", "h", "min", "s", "d", "ea", "set", "box", "pc"}
WORD = re.compile(r"^[\"'(]*([A-Za-z][a-z]+(?:\(s\))?|a|I)[\"'),.:;!?]*$")
RAW_KEY = re.compile(r"\b[a-z]+(?:_[a-z]+)+\b|\b[a-z_]+\[\d+\]\.[a-z_]+\b")


def english_runs(text: str, data: list[str]) -> list[str]:
    """What in one piece of screen text is English prose, once the data values (longest first) are taken out."""
    for value in data:
        text = text.replace(value, " ")
    found = [m.group(0) for m in RAW_KEY.finditer(text)]
    run: list[str] = []
    for token in [*text.split(), ""]:
        match = WORD.match(token)
        if match and match.group(1) not in ALLOWED and match.group(1).lower() not in UNITS:
            run.append(token)
            continue
        if len(run) >= 2:
            found.append(" ".join(run))
        run = []
    stripped = text.strip()
    if re.fullmatch(r"[a-z]{3,}", stripped) and stripped not in UNITS:
        found.append(stripped)  # a status or kind shown as its internal value
    return found


VISIBLE_ATTRIBUTES = {"title", "placeholder", "aria-label", "alt"}
# Not read as prose: scripts and styles; <code>, which the pages keep for literal identifiers (a CSV column, an
# event type, a record's nested JSON in the audit trail) that a reader types or matches as they are; and <textarea>,
# which only ever holds what a person typed (notes, or a record's nested lists edited as JSON).
HIDDEN = ("script", "style", "template", "code", "textarea")


class ScreenText(HTMLParser):
    """The text a reader sees, one piece per element (what HIDDEN names left out), with the visible attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.pieces: list[str] = []
        self.links: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in HIDDEN:
            self._hidden += 1
        values = dict(attrs)
        self.pieces += [v for k, v in attrs if k in VISIBLE_ATTRIBUTES and v]
        if tag == "a" and values.get("href"):
            self.links.append(values["href"])
        if tag == "input" and values.get("type") in ("submit", "button") and values.get("value"):
            self.pieces.append(values["value"])

    def handle_endtag(self, tag: str) -> None:
        if tag in HIDDEN:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden and data.strip():
            self.pieces.append(data)


def english_on_screen(page: str, data: list[str]) -> list[str]:
    """The English prose a reader sees on a rendered page (or a part of one), the data values given left out."""
    parser = ScreenText()
    parser.feed(page)
    return [run for piece in parser.pieces for run in english_runs(html.unescape(piece), data)]
