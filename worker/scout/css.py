"""Selectors built from what a page says about itself: a hostile page chooses its ids and
names, so they go into a selector only as a plain `#id` or as a quoted CSS string."""

from __future__ import annotations

import re

# An id used as `#id`: anything else (`n, #go`) could make the selector name another element.
_PLAIN_ID = re.compile(r"[A-Za-z][\w-]*")


def plain_id(value: str) -> bool:
    """Whether `#value` names the element with that id and nothing else (`*`: a volatile run
    left out of the signature, not the page's id)."""
    return bool(value) and "*" not in value and _PLAIN_ID.fullmatch(value) is not None


def _escape(char: str) -> str:
    if char == "\0":
        return "\ufffd"
    if char in ('"', "\\"):
        return "\\" + char
    if ord(char) < 0x20 or char == "\x7f":
        return f"\\{ord(char):x} "  # a control character, as CSS escapes it: hex and a space
    return char


def css_string(text: str) -> str:
    """`text` as a quoted CSS string. Not JSON: CSS reads JSON's `\\u00e9` as the letters
    u00e9, so an accented name would never match; letters stay letters here."""
    return '"' + "".join(_escape(char) for char in text) + '"'
