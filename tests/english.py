"""What a Chinese screen may not show: a run of two or more English words, a raw status (a lone lowercase word) or a
field's internal name (`shipped_quantity`, `lines[10].quantity`). Codes (upper case, digits), units and what the
data itself says (stripped by the caller, who knows its data) are not English prose."""

from __future__ import annotations

import re

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
