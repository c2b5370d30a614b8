"""The JSON API for tests: list (newest first, `?to=`), read, raw source, delete all."""

from __future__ import annotations

import logging
from typing import Annotated, Any, cast

from fastapi import APIRouter, Depends, HTTPException, Request, Response

from devstack.mailcatcher.messages import CaughtMessage
from devstack.mailcatcher.store import Mailbox

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api", tags=["messages"])


def current_mailbox(request: Request) -> Mailbox:
    return cast(Mailbox, request.app.state.mailbox)


MailboxDep = Annotated[Mailbox, Depends(current_mailbox)]


def message_or_404(mailbox: Mailbox, message_id: str) -> CaughtMessage:
    message = mailbox.get(message_id)
    if message is None:
        raise HTTPException(404, f"no message {message_id!r}")
    return message


@router.get("/messages")
async def list_messages(mailbox: MailboxDep, to: str | None = None) -> dict[str, Any]:
    """Summaries, newest first; `?to=address` keeps messages sent to it (To, Cc or Bcc)."""
    messages = mailbox.newest_first(to)
    return {"total": len(messages), "messages": [message.summary() for message in messages]}


@router.get("/messages/{message_id}")
async def read_message(message_id: str, mailbox: MailboxDep) -> dict[str, Any]:
    """Headers, envelope, the text and HTML parts, and the http(s) links found in them."""
    return message_or_404(mailbox, message_id).detail()


@router.get("/messages/{message_id}/raw")
async def raw_message(message_id: str, mailbox: MailboxDep) -> Response:
    # text/plain, not message/rfc822: a browser shows it rather than offering to open it.
    message = message_or_404(mailbox, message_id)
    return Response(message.raw, media_type="text/plain; charset=utf-8")


@router.delete("/messages")
async def delete_all(mailbox: MailboxDep) -> dict[str, int]:
    deleted = mailbox.clear()
    log.info("mailbox cleared", extra={"action": "mailcatcher.cleared", "deleted": deleted})
    return {"deleted": deleted}
