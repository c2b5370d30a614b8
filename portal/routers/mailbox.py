"""GET /mailbox: the customer's campaign mailbox — its address and the mail directories sent
to it (verification links and codes), newest first. Text parts only: a mail's HTML is never
rendered on our pages."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from portal.dependencies import PortalStateDep, SignedIn
from portal.templating import render

router = APIRouter(tags=["customer"])

# A mailbox gets a few mails per directory; a page of this many is plenty.
PAGE_SIZE = 100
# A verification mail's text is a few hundred characters; a mail is stored up to 1 MB. The
# page gets this much of each (and says when a mail was cut).
BODY_CHARS = 20_000


@router.get("/mailbox")
async def mailbox(request: Request, viewer: SignedIn, state: PortalStateDep) -> Response:
    async with state.db.as_viewer(viewer) as q:
        box = await q.fetch_one("customer_mailboxes_get_own", user_id=viewer.user_id)
        mails = await q.fetch_all("inbound_emails_list_own", limit=PAGE_SIZE, body_chars=BODY_CHARS)
    address = state.settings.mailbox_address(box["local_part"]) if box else None
    return render(request, "mailbox.html", address=address, mails=mails)
