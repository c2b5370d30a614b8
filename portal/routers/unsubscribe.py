"""Stopping reminder emails from the link in one, without signing in.

GET  /unsubscribe/{token}   a page that says, in plain words, what the link stops and what
                            still comes, with one button. It changes nothing: mail scanners
                            and link previewers follow every GET in a message.
POST /unsubscribe/{token}   the unsubscribe itself: the page's button, or a mail provider's
                            one-click (RFC 8058: it POSTs `List-Unsubscribe=One-Click`, with
                            no cookies, from its own servers or the reader's browser).

The token is the whole authority. It is 256 random bits that only the database can check
(it keeps their SHA-256, public.email_opt_outs_unsubscribe), names one customer and one kind
of mail, and expires; an altered, unknown or expired token gets a page that says so and
changes nothing. So the calls run as the service role: there is no viewer to run them as,
and the database, not this router, decides what the token may do.

Why no CSRF check on the POST (OriginGuardMiddleware lets a POST to /unsubscribe/<token>
through, and nothing else): CSRF is a forged request riding on the victim's ambient
credentials (a session cookie). This POST uses none: it acts on the token in its URL alone,
and a cross-site page can only send a token it already holds, which is exactly what the
one-click standard lets any holder do. The worst it can do is stop the reminders of the
customer whose email the link came from. And the check would break one-click unsubscribe
from webmail, whose POST carries the webmail's Origin.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from dbolt.sql import InvalidArgument, NotFound
from portal.dependencies import PortalStateDep
from portal.templating import render

router = APIRouter(tags=["customer"])

# What email_unsubscribe_links_issue makes: 32 bytes (random, or since 20261207000210 an
# HMAC), unpadded base64url.
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")
# The one path OriginGuardMiddleware lets a cross-site POST reach (matched in full).
TOKEN_PATH = re.compile(r"/unsubscribe/" + _TOKEN.pattern)
# Plain words for each kind of mail a link can stop (public.email_opt_outs.list).
LIST_WORDS = {"reminders": "reminder emails about directories that are waiting for you"}


def _page(request: Request, status: str, status_code: int = 200, **context: Any) -> Response:
    response = render(
        request,
        "unsubscribe.html",
        status_code=status_code,
        status=status,
        list_words=LIST_WORDS.get(str(context.get("list") or ""), "these emails"),
        **context,
    )
    # The URL is the credential: never in a Referer, a shared cache or a search index.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


def _refused(request: Request, status: str) -> Response:
    return _page(request, status, status_code=410 if status == "expired" else 404)


@router.get("/unsubscribe/{token}")
async def confirm(request: Request, token: str, state: PortalStateDep) -> Response:
    if not _TOKEN.fullmatch(token):
        return _refused(request, "unknown")
    async with state.db.as_service() as q:
        link = await q.fetch_one("email_unsubscribe_links_check", token=token)
    if link is None or link["status"] != "valid":
        return _refused(request, link["status"] if link else "unknown")
    return _page(
        request,
        "already" if link["opted_out_at"] else "confirm",
        token=token,
        list=link["list"],
        recipient=link["recipient_hint"],
    )


@router.post("/unsubscribe/{token}")
async def unsubscribe(request: Request, token: str, state: PortalStateDep) -> Response:
    # The body is `List-Unsubscribe=One-Click` from a mail provider, or empty from our own
    # button; either way only the token counts.
    if not _TOKEN.fullmatch(token):
        return _refused(request, "unknown")
    try:
        async with state.db.as_service() as q:
            done = await q.fetch_one("email_opt_outs_unsubscribe", token=token)
    except NotFound:
        return _refused(request, "unknown")
    except InvalidArgument as error:
        if error.constraint != "email_unsubscribe_links_expired":
            raise
        return _refused(request, "expired")
    assert done is not None
    return _page(request, "done", list=done["list"])
