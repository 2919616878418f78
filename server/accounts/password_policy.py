"""What a new password must be: not guessable. Length alone (at least 10, the contract's rule) let `password12`,
`1234567890`, ten spaces and the username itself through.

The judge is zxcvbn (Dropbox's estimator, with its lists of the most common passwords, words and names, and its
detection of keyboard walks, dates, repeats and sequences): it estimates how many guesses an attacker needs, and a
password must need at least 10^8 (its score 3), with the username and display name counted as known to the
attacker. The plain rules before it say precisely what is wrong with the most obvious cases.
"""

from __future__ import annotations

from litestar.status_codes import HTTP_422_UNPROCESSABLE_ENTITY

from server.errors import ApiError

MIN_SCORE = 3  # zxcvbn: "safely unguessable", about 10^8 guesses or more
# zxcvbn's matching grows with the square of the length: it judges the first 72 characters (its own default bound),
# which a password that long is at least as strong as.
JUDGED_LENGTH = 72

REASONS = {
    "blank": "it is only spaces",
    "username": "it is the username, or made of it",
    "repeated": "it is one character or group of characters repeated",
    "sequential": "it is a run like 1234567890 or abcdefghij",
    "common": "it is a common password, or too close to one",
}


def _one_repeated_group(text: str) -> bool:
    """'aaaaaaaaaa', 'abcabcabca': the whole is one short group of characters over and over."""
    for size in range(1, len(text) // 2 + 1):
        group = text[:size]
        if (group * (len(text) // size + 1))[: len(text)] == text:
            return True
    return False


def _one_run(text: str) -> bool:
    """'1234567890', 'abcdefghij', '9876543210', 'zyxwv…': each character one step from the one before."""
    steps = {ord(b) - ord(a) for a, b in zip(text, text[1:])}
    return steps in ({1}, {-1}) or (text.isdigit() and steps <= {1, -9}) or (text.isdigit() and steps <= {-1, 9})


def weakness(password: str, username: str, display_name: str = "") -> str | None:
    """Why this password would be refused (a key of REASONS), or None when it is good enough."""
    if not password.strip():
        return "blank"
    folded, name = password.casefold(), username.casefold()
    if name and folded in (name, name[::-1]):
        return "username"
    if _one_repeated_group(folded):
        return "repeated"
    if _one_run(folded):
        return "sequential"
    from zxcvbn import zxcvbn  # noqa: PLC0415 - its word lists take a moment to load: only when a password is set

    hints = [hint for hint in (username, display_name, *display_name.split()) if hint]
    judged = password[:JUDGED_LENGTH]
    if zxcvbn(judged, user_inputs=hints)["score"] < MIN_SCORE:
        return "common"
    if len(name) >= 3 and name in folded:
        # The username gives an attacker part of it for free: what is left must hold on its own.
        rest = folded.replace(name, "")[:JUDGED_LENGTH]
        if len(rest.strip()) < 4 or zxcvbn(rest, user_inputs=hints)["score"] < MIN_SCORE:
            return "username"
    return None


def check_new_password(password: str, username: str, display_name: str = "", field: str = "password") -> None:
    """Refuse a password that is easy to guess: 422 `weak_password`, naming the field and the reason."""
    reason = weakness(password, username, display_name)
    if reason is not None:
        raise ApiError(
            HTTP_422_UNPROCESSABLE_ENTITY,
            "weak_password",
            f"This password is too easy to guess ({REASONS[reason]}): choose a longer one that is not a common word, "
            "a pattern or your name",
            {"field": field, "reason": reason},
        )
