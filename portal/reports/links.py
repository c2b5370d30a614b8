"""Listing addresses as the report prints them. A directory supplies its listing URL; only an
http(s) one becomes a link (in the page and in the PDF's link annotations): a `javascript:` or
`data:` address is shown as text and never made clickable. Long URLs get break opportunities
after their separators, so a narrow column wraps them at a `/` or `&` rather than anywhere."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from markupsafe import Markup, escape

_SEPARATORS = re.compile(r"(?<=[/?&=.\-_])")


def http_link(url: object) -> str | None:
    """`url` if it is an absolute http(s) URL with a host, else None (never a link)."""
    if not isinstance(url, str):
        return None
    text = url.strip()
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return text


def breakable_url(url: object) -> Markup:
    """The URL escaped, with <wbr> after each separator (after `https://` only once)."""
    text = "" if url is None else str(url)
    scheme, sep, rest = text.partition("://")
    if not sep:
        scheme, rest = "", text
    pieces = [str(escape(piece)) for piece in _SEPARATORS.split(rest)]
    head = str(escape(scheme + sep))
    # Every piece of the URL was escaped above; the only markup added is <wbr>.
    return Markup(head + "<wbr>".join(pieces))  # noqa: S704
