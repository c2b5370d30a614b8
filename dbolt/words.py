"""How we say numbers to people, defined once: counts of things and spans of time.

The customer's job page, its live updates, the report (HTML, PDF, CSV) and every email use
these, so "1 directory", "3 directories" and "less than a minute" read the same everywhere.
"""

from __future__ import annotations

import math

# Nouns whose plural is not the noun + "s" (or "y" → "ies"), spelt out where they are used.
_IRREGULAR = {"business": "businesses", "day": "days", "match": "matches", "mailbox": "mailboxes"}


def plural(noun: str) -> str:
    if noun in _IRREGULAR:
        return _IRREGULAR[noun]
    if noun.endswith("y") and noun[-2:-1] not in ("a", "e", "i", "o", "u"):
        return noun[:-1] + "ies"
    return noun + "s"


def noun_for(count: int, noun: str, plural_form: str | None = None) -> str:
    """The noun alone, singular for exactly one: `directory` / `directories`."""
    return noun if count == 1 else (plural_form or plural(noun))


def count_of(count: int, noun: str, plural_form: str | None = None) -> str:
    """`1 directory`, `0 directories`, `24 directories`."""
    return f"{count} {noun_for(count, noun, plural_form)}"


def duration(seconds: float) -> str:
    """A span a person reads at a glance, rounded up so it never promises too little:
    `less than a minute`, `1 minute`, `2 hours 5 minutes`, `3 days`."""
    seconds = max(0.0, seconds)
    if seconds < 60:
        return "less than a minute"
    minutes = math.ceil(seconds / 60)
    if minutes < 60:
        return count_of(minutes, "minute")
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return count_of(hours, "hour") + (f" {count_of(minutes, 'minute')}" if minutes else "")
    return count_of(round(hours / 24), "day")


def about_duration(seconds: float) -> str:
    """`about 3 minutes`, but `less than a minute` (never "about under a minute")."""
    text = duration(seconds)
    return text if seconds < 60 else f"about {text}"
