"""The inbound-mail webhook (POST /inbound/mailgun) over real HTTP against the real webhook
app and a real database: Mailgun's signed Routes forward() format, verified before anything
is written; replays stored once; mail for no mailbox of ours refused with 406 (Mailgun does
not retry it); a good mail stored and matched to the directory waiting for it, whose job
wakes. The directory is parked directly in SQL, as the parking transitions would leave it."""

from __future__ import annotations

import json
import secrets
import smtplib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.types.json import Jsonb
from pydantic import SecretStr

from devstack.mailcatcher import MailCatcher
from devstack.mailcatcher.forward import ForwardSettings
from devstack.serving import AppServer
from tests.support.ports import free_port
from webhook import mailgun_signature
from webhook.app import create_app
from webhook.settings import WebhookSettings

KEY = "mailgun-signing-key-for-tests"
DOMAIN = "mailbox.tests.example"
SITE = "listings-one.example"


@dataclass
class Mailroom:
    url: str
    conn: psycopg.Connection[Any]
    job_id: Any
    mailbox: str

    def scalar(self, sql: str, *params: Any) -> Any:
        row = self.conn.execute(sql, params).fetchone()
        return None if row is None else row[0]

    def stored(self) -> int:
        return int(self.scalar("select count(*) from inbound_emails"))

    def tokens(self) -> int:
        return int(self.scalar("select count(*) from private.inbound_mail_tokens"))


def form(
    mailbox: str,
    message_id: str | None = None,
    sender: str = f"Listings One <noreply@mail.{SITE}>",
    subject: str = "Confirm your account",
    *,
    key: str = KEY,
    timestamp: int | None = None,
    token: str | None = None,
    envelope: str = f"bounce+abc@mail.{SITE}",
    verdicts: tuple[tuple[str, str], ...] = (("X-Mailgun-Spf", "Pass"),),
    headers: tuple[tuple[str, str], ...] = (),
) -> dict[str, str]:
    """A delivery as Mailgun's forward() posts it (fields of its documented table), with the
    sender-authentication verdicts Mailgun adds to a mail (default: SPF pass for the
    envelope sender, aligned with the From domain), as fields and in `message-headers`.
    `headers`: the mail's own extra headers (only in `message-headers`)."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    token = token or secrets.token_hex(25)
    message_id = message_id or f"<{secrets.token_hex(8)}@mail.{SITE}>"
    mail_headers = [["Message-Id", message_id], ["Subject", subject], *map(list, headers)]
    return {
        **dict(verdicts),
        "recipient": f"{mailbox}@{DOMAIN}",
        "sender": envelope,
        "from": sender,
        "subject": subject,
        "body-plain": "Your code is 424242. Or open https://www.listings-one.example/v?t=1",
        "body-html": "<p>Your code is <b>424242</b></p>",
        "stripped-text": "Your code is 424242.",
        "Message-Id": message_id,
        "message-headers": json.dumps(mail_headers + [list(pair) for pair in verdicts]),
        "timestamp": stamp,
        "token": token,
        "signature": mailgun_signature.sign(key, stamp, token),
    }


def post(room: Mailroom, fields: dict[str, str], **kw: Any) -> httpx.Response:
    return httpx.post(f"{room.url}/inbound/mailgun", data=fields, timeout=10, **kw)


@pytest.fixture
def room(db_url: str) -> Iterator[Mailroom]:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            "select directories_sync(%s::jsonb)",
            (
                Jsonb(
                    [
                        {
                            "id": "dir-mail",
                            "name": "Listings One",
                            "homepage": f"https://www.{SITE}/",
                            "tier": "starter",
                            "priority": 1,
                            "mode": "recipe",
                            "enabled": True,
                            "recipe": {
                                "phases": {"verify_email": {"from": f"@{SITE}"}},
                                "steps": [{"goto": f"https://www.{SITE}/add"}],
                            },
                        }
                    ]
                ),
            ),
        )
        order = conn.execute("select dev.create_paid_order('owner@bakery.example', 'starter')")
        order_id = order.fetchone()[0]  # type: ignore[index]
        job = conn.execute("select id, customer_id from jobs_enqueue(%s)", (order_id,)).fetchone()
        assert job is not None
        mailbox = conn.execute(
            "select local_part from customer_mailboxes where customer_id = %s", (job[1],)
        ).fetchone()
        assert mailbox is not None
        settings = WebhookSettings(
            database_url=SecretStr(db_url),
            mailgun_webhook_signing_key=SecretStr(KEY),
            mailbox_domain=DOMAIN,
            inbound_mail_max_body_bytes=256 * 1024,
        )
        with AppServer(create_app(settings, run_notifier=False), "the webhook") as server:
            yield Mailroom(server.url, conn, job[0], mailbox[0])


def park(room: Mailroom) -> None:
    """The job's directory waits for its verification email (as jobs_report_attempt parks it)."""
    room.conn.execute(
        "update jobs set status = 'waiting', wake_at = now() + interval '2 days' where id = %s",
        (room.job_id,),
    )
    room.conn.execute(
        "update job_directories set status = 'waiting', phase = 'verify_email',"
        " wait_kind = 'email', wait_until = now() + interval '2 days' where job_id = %s",
        (room.job_id,),
    )


def test_a_forged_signature_is_refused_and_nothing_is_stored(room: Mailroom) -> None:
    park(room)
    answer = post(room, form(room.mailbox, key="not-the-signing-key"))

    assert answer.status_code == 401
    assert answer.json() == {"error": "signature does not verify"}
    assert (room.stored(), room.tokens()) == (0, 0)
    assert room.scalar("select status::text from jobs where id = %s", room.job_id) == "waiting"


def test_a_signature_with_a_swapped_field_or_none_at_all_is_refused(room: Mailroom) -> None:
    fields = form(room.mailbox)
    fields["timestamp"] = str(int(fields["timestamp"]) + 1)
    assert post(room, fields).status_code == 401
    unsigned = form(room.mailbox)
    del unsigned["signature"]
    answer = post(room, unsigned)
    assert answer.status_code == 401
    assert "signature" in answer.json()["error"]
    assert room.stored() == 0


def test_a_stale_timestamp_is_refused_even_when_signed(room: Mailroom) -> None:
    answer = post(room, form(room.mailbox, timestamp=int(time.time()) - 3600))

    assert answer.status_code == 401
    assert answer.json() == {"error": "timestamp is outside the accepted window"}
    assert room.stored() == 0


def test_a_good_mail_is_stored_matched_and_wakes_the_job(room: Mailroom) -> None:
    park(room)
    answer = post(room, form(room.mailbox, message_id="<welcome-1@mail.listings-one.example>"))

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["stored"] is True
    assert (body["duplicate"], body["matched"], body["woken"]) == (False, True, True)
    assert (body["job_id"], body["directory_id"]) == (str(room.job_id), "dir-mail")
    row = room.conn.execute(
        "select recipient, sender, subject, body_text, body_html from inbound_emails"
    ).fetchone()
    assert row == (
        room.mailbox,
        f"noreply@mail.{SITE}",
        "Confirm your account",
        "Your code is 424242. Or open https://www.listings-one.example/v?t=1",
        "<p>Your code is <b>424242</b></p>",
    )
    assert room.scalar("select status::text from jobs where id = %s", room.job_id) == "pending"
    assert room.scalar(
        "select wake_mail_id from job_directories where job_id = %s", room.job_id
    ) == int(body["id"])


def test_a_mail_nothing_waits_for_is_stored_unmatched(room: Mailroom) -> None:
    answer = post(room, form(room.mailbox, sender="someone@elsewhere.example"))

    assert answer.status_code == 200
    assert answer.json()["matched"] is False
    assert room.stored() == 1


def test_a_replay_is_stored_once(room: Mailroom) -> None:
    park(room)
    first = form(room.mailbox, message_id="<once@mail.listings-one.example>")
    assert post(room, first).status_code == 200

    # Mailgun retrying the very same delivery (our 200 was lost): answered, stored once.
    again = post(room, first)
    assert again.status_code == 200
    assert again.json()["duplicate"] is True
    # The same message in a freshly signed delivery: stored once.
    resent = post(room, form(room.mailbox, message_id="<once@mail.listings-one.example>"))
    assert resent.status_code == 200
    assert resent.json()["duplicate"] is True
    assert room.stored() == 1
    assert (
        room.scalar("select count(*) from audit_log where action = 'directory.mail_arrived'") == 1
    )


def test_a_captured_token_cannot_carry_another_mail(room: Mailroom) -> None:
    # The signature covers timestamp+token only: someone who saw one delivery could re-post
    # its signature with another body inside the window. The token is good for one message.
    genuine = form(room.mailbox)
    assert post(room, genuine).status_code == 200
    forged = dict(genuine)
    forged["Message-Id"] = "<forged@evil.example>"
    forged["message-headers"] = "[]"
    forged["body-plain"] = "Click https://evil.example/steal"

    answer = post(room, forged)
    assert answer.status_code == 401
    assert room.stored() == 1
    evil = "select count(*) from inbound_emails where strpos(body_text, 'evil') > 0"
    assert room.scalar(evil) == 0


def test_mail_for_no_mailbox_of_ours_is_refused_with_406_and_not_stored(room: Mailroom) -> None:
    unknown = form("nobody-0000ffff")
    answer = post(room, unknown)
    assert answer.status_code == 406
    assert answer.json() == {"error": "recipient is no campaign mailbox"}

    elsewhere = form(room.mailbox)
    elsewhere["recipient"] = f"{room.mailbox}@other-domain.example"
    answer = post(room, elsewhere)
    assert answer.status_code == 406
    assert "recipient" in answer.json()["error"]
    assert (room.stored(), room.tokens()) == (0, 0)


def test_a_multipart_post_with_an_attachment_is_taken(room: Mailroom) -> None:
    # Mailgun switches to multipart/form-data when the mail has attachments.
    answer = post(
        room,
        form(room.mailbox),
        files={"attachment-1": ("terms.pdf", b"%PDF-1.4 tiny", "application/pdf")},
    )
    assert answer.status_code == 200, answer.text
    assert room.stored() == 1


def test_a_body_over_the_inbound_limit_is_refused(room: Mailroom) -> None:
    fields = form(room.mailbox)
    fields["body-html"] = "x" * (300 * 1024)
    answer = post(room, fields)
    assert answer.status_code == 413
    assert room.stored() == 0


def test_mail_sent_over_smtp_reaches_the_webhook_through_the_mail_catcher(room: Mailroom) -> None:
    # The local stand-in for Mailgun's inbound side: a real SMTP session to the catcher, its
    # signed forward to the real webhook, the real database.
    park(room)
    forward = ForwardSettings(f"{room.url}/inbound/mailgun", DOMAIN, KEY, backoff_seconds=0.1)
    with MailCatcher(smtp_port=free_port(), forward=forward) as catcher:
        mail = EmailMessage()
        mail["From"] = f"Listings One <noreply@{SITE}>"
        mail["To"] = f"{room.mailbox}@{DOMAIN}"
        mail["Subject"] = "Confirm your Listings One account"
        mail["Message-Id"] = "<smtp-1@listings-one.example>"
        mail.set_content(f"Open https://www.{SITE}/verify?t=9f8e to confirm.\n")
        other = EmailMessage()
        other["From"] = f"noreply@{SITE}"
        other["To"] = "owner@bakery.example"
        other["Subject"] = "Not for a campaign mailbox"
        other.set_content("hello\n")
        with smtplib.SMTP("127.0.0.1", catcher.smtp_port, timeout=10) as client:
            client.send_message(other)
            client.send_message(mail)

        def woken() -> bool:
            status = room.scalar("select status::text from jobs where id = %s", room.job_id)
            return bool(status == "pending")

        deadline = time.monotonic() + 15
        while not woken():
            assert time.monotonic() < deadline, "the mail never woke the job"
            time.sleep(0.05)

    row = room.conn.execute(
        "select provider, provider_message_id, sender, subject, directory_id from inbound_emails"
    ).fetchall()
    assert row == [
        (
            "mailgun",
            "<smtp-1@listings-one.example>",
            f"noreply@{SITE}",
            "Confirm your Listings One account",
            "dir-mail",
        )
    ]


# The From header is anyone's to write ------------------------------------------------------
def directory_waits(room: Mailroom) -> bool:
    return bool(
        room.scalar("select status::text from jobs where id = %s", room.job_id) == "waiting"
        and room.scalar("select wake_mail_id from job_directories where job_id = %s", room.job_id)
        is None
    )


def test_a_forged_from_is_stored_but_wakes_nothing_and_the_real_mail_still_does(
    room: Mailroom,
) -> None:
    # Someone who knows the mailbox address writes the directory's From with a wrong link,
    # before the real mail: no verdict vouches for that From, so it must not use up the wait.
    park(room)
    forged = form(room.mailbox, sender=f"noreply@{SITE}", envelope="x@evil.example", verdicts=())
    answer = post(room, forged)

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["stored"], body["matched"], body["sender_authenticated"]) == (True, False, False)
    assert body["sender_check"].startswith("sender not authenticated: DKIM verdict missing")
    assert room.scalar("select sender_authenticated from inbound_emails") is False
    assert directory_waits(room)

    real = post(room, form(room.mailbox, sender=f"noreply@{SITE}", envelope=f"bounce@{SITE}"))
    assert real.status_code == 200, real.text
    assert (real.json()["matched"], real.json()["woken"]) == (True, True)
    assert real.json()["sender_check"] == f"SPF pass for {SITE}"
    assert room.scalar("select status::text from jobs where id = %s", room.job_id) == "pending"
    assert room.scalar(
        "select wake_mail_id from job_directories where job_id = %s", room.job_id
    ) == int(real.json()["id"])


@pytest.mark.parametrize(
    ("case", "envelope", "verdicts", "headers"),
    [
        # SPF passes for the sender's own domain, not the directory's.
        ("spf for another domain", "x@evil.example", (("X-Mailgun-Spf", "Pass"),), ()),
        # The sender wrote "Pass" into its own mail; Mailgun's own verdict says Fail.
        (
            "a written pass beside mailgun's fail",
            f"noreply@{SITE}",
            (("X-Mailgun-Spf", "Fail"),),
            (("X-Mailgun-Spf", "Pass"),),
        ),
        # DKIM passes for the sender's own signature (d=evil.example).
        (
            "dkim for another domain",
            "x@evil.example",
            (("X-Mailgun-Dkim-Check-Result", "Pass"),),
            (("DKIM-Signature", "v=1; a=rsa-sha256; d=evil.example; s=s1; b=abc"),),
        ),
        # ...beside a broken one naming the directory: which one passed is not said.
        (
            "dkim pass with one signature for another domain",
            "x@evil.example",
            (("X-Mailgun-Dkim-Check-Result", "Pass"),),
            (
                ("DKIM-Signature", f"v=1; d={SITE}; s=s1; b=broken"),
                ("DKIM-Signature", "v=1; d=evil.example; s=s1; b=abc"),
            ),
        ),
        ("softfail", f"noreply@{SITE}", (("X-Mailgun-Spf", "SoftFail"),), ()),
    ],
)
def test_a_sender_not_vouched_for_the_from_domain_wakes_nothing(
    room: Mailroom,
    case: str,
    envelope: str,
    verdicts: tuple[tuple[str, str], ...],
    headers: tuple[tuple[str, str], ...],
) -> None:
    park(room)
    fields = form(
        room.mailbox,
        sender=f"noreply@{SITE}",
        envelope=envelope,
        verdicts=verdicts,
        headers=headers,
    )
    answer = post(room, fields)

    assert answer.status_code == 200, answer.text
    assert (answer.json()["matched"], answer.json()["sender_authenticated"]) == (False, False), case
    assert room.stored() == 1
    assert directory_waits(room), case


def test_a_dkim_signature_for_the_from_domain_wakes_the_directory(room: Mailroom) -> None:
    # An ESP's bounce address (no SPF alignment), signed by the directory's subdomain.
    park(room)
    fields = form(
        room.mailbox,
        sender=f"noreply@{SITE}",
        envelope="bounces+123@esp.example",
        verdicts=(("X-Mailgun-Spf", "Pass"), ("X-Mailgun-Dkim-Check-Result", "Pass")),
        headers=(("DKIM-Signature", f"v=1; a=rsa-sha256; d=mail.{SITE}; s=k1; b=abc"),),
    )
    answer = post(room, fields)

    assert answer.status_code == 200, answer.text
    assert (answer.json()["matched"], answer.json()["woken"]) == (True, True)
    assert answer.json()["sender_check"] == f"DKIM pass for mail.{SITE}"
