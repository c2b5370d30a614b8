"""POST /inbound/mailgun: mail to the campaign mailboxes, as Mailgun's Routes forward() posts it.

Order of checks, each refusing before anything is written:
1. size (the app's body limit, then ours) and a form we can read;
2. the signature (HMAC-SHA256 of timestamp+token, constant-time) and a fresh timestamp;
3. a recipient on MAILBOX_DOMAIN with a mailbox-shaped local part and a sender address;
4. one SQL call (inbound_emails_receive) that refuses an unknown mailbox or a token already
   used for another message, stores the mail once and, only when Mailgun authenticated its
   sender (webhook/sender_auth.py: the From header alone is anyone's to write), wakes the
   directory waiting for it.

Answers, chosen for Mailgun's retry rule (it retries every non-2xx for 8 hours, except 406):
- 200: stored (or already stored: a retry or replay of the same message), matched or not;
  `sender_authenticated` and `sender_check` say whether its sender could be matched, and why;
- 401: not signed with our key, stale, or a used token with another message. Not from
  Mailgun, so retries do not matter, and a genuine delivery refused during a key mistake is
  retried, giving time to fix the key without losing mail;
- 406: not for us (another domain, no such mailbox, no sender address): no retry can help;
- 503: the database is away; Mailgun's retries deliver it later.
Logs name the outcome, mailbox and sender, never the mail's subject or body.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.formparsers import MultiPartException

from dbolt.sql import DatabaseUnavailable, InvalidArgument, NotFound
from webhook import mailgun_form, mailgun_signature, sender_auth
from webhook.state import StateDep

log = logging.getLogger(__name__)

router = APIRouter(tags=["inbound mail"])

# Mailgun posts every MIME header as a field too; a mail has a few dozen. Attachments are
# read (and dropped): a verification mail rarely has any.
_MAX_FIELDS = 500
_MAX_FILES = 20


def _answer(status: int, **body: Any) -> JSONResponse:
    return JSONResponse(body, status_code=status)


@router.post("/inbound/mailgun")
async def receive_mail(request: Request, state: StateDep) -> JSONResponse:
    settings = state.settings
    limit = settings.inbound_mail_max_body_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return _answer(413, error=f"body larger than {limit} bytes")
    try:
        form = await request.form(max_files=_MAX_FILES, max_fields=_MAX_FIELDS)
    except MultiPartException as error:
        return _answer(400, error=f"body must be Mailgun's form post: {error.message}")
    # Every value, repeats included: a repeated verdict header must not hide behind another.
    pairs = [(name, value) for name, value in form.multi_items() if isinstance(value, str)]
    fields = dict(pairs)
    await form.close()

    refused = mailgun_signature.problem(
        settings.mailgun_webhook_signing_key.get_secret_value(),
        fields.get("timestamp", ""),
        fields.get("token", ""),
        fields.get("signature", ""),
        now=time.time(),
        tolerance_seconds=settings.inbound_mail_tolerance_seconds,
    )
    if refused is not None:
        log.warning(
            "inbound mail signature refused",
            extra={"action": "inbound_mail.bad_signature", "reason": refused},
        )
        return _answer(401, error=refused)

    delivery = mailgun_form.parse(fields, settings.mailbox_domain)
    if isinstance(delivery, str):
        log.warning(
            "inbound mail not for us",
            extra={"action": "inbound_mail.not_ours", "reason": delivery},
        )
        return _answer(406, error=delivery)

    sender_check = sender_auth.check(pairs, delivery.sender, delivery.envelope_sender)
    where = {
        "mailbox": delivery.recipient_local_part,
        "sender": delivery.sender,
        "sender_authenticated": sender_check.authenticated,
        "sender_check": sender_check.why,
    }
    try:
        row = await state.db.fetch_one(
            "inbound_emails_receive",
            provider=mailgun_form.PROVIDER,
            provider_message_id=delivery.message_id,
            recipient_local_part=delivery.recipient_local_part,
            sender=delivery.sender,
            subject=delivery.subject,
            body_text=delivery.body_text,
            body_html=delivery.body_html,
            token=fields["token"],
            sender_authenticated=sender_check.authenticated,
        )
    except NotFound:
        log.warning(
            "inbound mail for no mailbox",
            extra={"action": "inbound_mail.unknown_mailbox", **where},
        )
        return _answer(406, error="recipient is no campaign mailbox")
    except InvalidArgument as error:
        if error.constraint == "inbound_mail_token_reused":
            log.warning(
                "inbound mail token replayed",
                extra={"action": "inbound_mail.token_reused", **where},
            )
            return _answer(401, error=str(error))
        log.warning(
            "inbound mail refused",
            extra={"action": "inbound_mail.refused", "reason": str(error), **where},
        )
        return _answer(406, error=str(error))
    except DatabaseUnavailable:
        log.warning("database unreachable", extra={"action": "inbound_mail.db_down"})
        return _answer(503, error="database unavailable, retry later")
    assert row is not None
    result: dict[str, Any] = row["result"]
    log.info(
        "inbound mail stored" if result.get("matched") else "inbound mail stored, unmatched",
        extra={
            "action": "inbound_mail.stored",
            "mail_id": result.get("id"),
            "duplicate": result.get("duplicate"),
            "matched": result.get("matched"),
            "job_id": result.get("job_id"),
            "directory_id": result.get("directory_id"),
            "woken": result.get("woken"),
            **where,
        },
    )
    return _answer(
        200,
        stored=True,
        sender_authenticated=sender_check.authenticated,
        sender_check=sender_check.why,
        **result,
    )
