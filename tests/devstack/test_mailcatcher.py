"""The mail catcher (devstack.mailcatcher) over real sockets: mail sent with smtplib, read back
through the JSON API and the inbox pages.

aiosmtpd cannot bind port 0, so each catcher gets a free port picked just before it starts.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import smtplib
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from dbolt import mailer
from devstack.mailcatcher import Mailbox, MailCatcher
from devstack.mailcatcher.forward import ForwardSettings, spf_verdict
from devstack.mailcatcher.forward import fields as forward_fields
from devstack.mailcatcher.messages import parse
from devstack.serving import AppServer
from tests.support.ports import free_port

HOSTILE_HTML = (
    '<html><body><h1 id="inner">Welcome</h1>'
    '<p>Confirm: <a href="http://127.0.0.1:3000/auth/confirm?token=abc&amp;type=magiclink">'
    "Sign in</a></p>"
    "<script>alert('from the email')</script>"
    '<img src="x" onerror="alert(1)"></body></html>'
)


@pytest.fixture(scope="module")
def catcher() -> Iterator[MailCatcher]:
    with MailCatcher(smtp_port=free_port()) as running:
        yield running


@pytest.fixture
def http(catcher: MailCatcher) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=catcher.http_url, timeout=10, trust_env=False) as client:
        client.delete("/api/messages").raise_for_status()
        yield client


def message(
    to: str = "owner@bakery.example",
    subject: str = "Your DirectoryBolt sign-in link",
    text: str = "Sign in: http://127.0.0.1:3000/auth/confirm?token=abc&type=magiclink.\n",
    html: str | None = HOSTILE_HTML,
    **headers: str,
) -> EmailMessage:
    built = EmailMessage()
    built["From"] = "DirectoryBolt <no-reply@directorybolt.example>"
    built["To"] = to
    built["Subject"] = subject
    built["Date"] = format_datetime(datetime(2026, 3, 1, 9, 30, tzinfo=UTC))
    for name, value in headers.items():
        built[name.replace("_", "-")] = value
    built.set_content(text)
    if html is not None:
        built.add_alternative(html, subtype="html")
    return built


def send(catcher: MailCatcher, mail: EmailMessage, **kwargs: Any) -> None:
    with smtplib.SMTP("127.0.0.1", catcher.smtp_port, timeout=10) as client:
        client.send_message(mail, **kwargs)


def listing(http: httpx.Client, **params: str) -> list[dict[str, Any]]:
    response = http.get("/api/messages", params=params)
    response.raise_for_status()
    messages: list[dict[str, Any]] = response.json()["messages"]
    return messages


def read(http: httpx.Client, message_id: str) -> dict[str, Any]:
    response = http.get(f"/api/messages/{message_id}")
    response.raise_for_status()
    detail: dict[str, Any] = response.json()
    return detail


# -- the JSON API ---------------------------------------------------------------------------
def test_a_text_and_html_message_is_caught(catcher: MailCatcher, http: httpx.Client) -> None:
    send(catcher, message())

    [summary] = listing(http)
    detail = read(http, summary["id"])

    assert summary["from"] == "no-reply@directorybolt.example"
    assert summary["to"] == ["owner@bakery.example"]
    assert summary["subject"] == "Your DirectoryBolt sign-in link"
    assert summary["date"] == "2026-03-01T09:30:00+00:00"
    assert summary["has_html"] is True
    assert detail["text"].startswith("Sign in: http://127.0.0.1:3000/auth/confirm")
    assert detail["html"] == HOSTILE_HTML + "\n"
    assert detail["envelope"] == {
        "mail_from": "no-reply@directorybolt.example",
        "rcpt_to": ["owner@bakery.example"],
    }
    # The same link in both parts is listed once; &amp; in the href is decoded; the full
    # stop after the URL in the text is not part of it.
    assert detail["links"] == ["http://127.0.0.1:3000/auth/confirm?token=abc&type=magiclink"]


def test_messages_are_listed_newest_first(catcher: MailCatcher, http: httpx.Client) -> None:
    for number in range(3):
        send(catcher, message(subject=f"message {number}"))

    assert [m["subject"] for m in listing(http)] == ["message 2", "message 1", "message 0"]


def test_filtering_by_recipient(catcher: MailCatcher, http: httpx.Client) -> None:
    send(catcher, message(to="a@example.com", subject="to a"))
    send(catcher, message(to="b@example.com", subject="to b", Cc="c@example.com"))
    # Bcc: only in the envelope.
    send(
        catcher,
        message(to="e@example.com", subject="bcc d"),
        to_addrs=["e@example.com", "d@example.com"],
    )

    assert [m["subject"] for m in listing(http, to="a@example.com")] == ["to a"]
    assert [m["subject"] for m in listing(http, to="B@Example.com")] == ["to b"]
    assert [m["subject"] for m in listing(http, to="c@example.com")] == ["to b"]
    assert [m["subject"] for m in listing(http, to="d@example.com")] == ["bcc d"]
    assert listing(http, to="nobody@example.com") == []


def test_deleting_all(catcher: MailCatcher, http: httpx.Client) -> None:
    send(catcher, message(subject="one"))
    send(catcher, message(subject="two"))

    assert http.delete("/api/messages").json() == {"deleted": 2}
    assert http.get("/api/messages").json() == {"total": 0, "messages": []}


def test_unknown_messages_are_404(http: httpx.Client) -> None:
    assert http.get("/api/messages/nope").status_code == 404
    assert http.get("/api/messages/nope/raw").status_code == 404
    assert http.get("/messages/nope").status_code == 404


def test_the_raw_source_is_kept(catcher: MailCatcher, http: httpx.Client) -> None:
    send(catcher, message(subject="raw"))
    message_id = listing(http)[0]["id"]

    raw = http.get(f"/api/messages/{message_id}/raw")

    assert raw.headers["content-type"].startswith("text/plain")
    assert "Subject: raw" in raw.text
    assert "Content-Type: multipart/alternative" in raw.text


def test_text_only_html_only_and_attachments(catcher: MailCatcher, http: httpx.Client) -> None:
    send(catcher, message(subject="text only", html=None))
    html_only = EmailMessage()
    html_only["From"] = "a@example.com"
    html_only["To"] = "b@example.com"
    html_only["Subject"] = "html only"
    html_only.set_content('<p><a href="https://example.com/x">x</a></p>', subtype="html")
    send(catcher, html_only)
    with_file = message(subject="with a file", html=None)
    with_file.add_attachment(b"a,b\n1,2\n", maintype="text", subtype="csv", filename="report.csv")
    send(catcher, with_file)

    by_subject = {m["subject"]: read(http, m["id"]) for m in listing(http)}

    assert by_subject["text only"]["html"] is None
    assert by_subject["html only"]["text"] is None
    assert by_subject["html only"]["links"] == ["https://example.com/x"]
    assert by_subject["with a file"]["attachments"] == [
        {"filename": "report.csv", "content_type": "text/csv", "size": 8}
    ]


def test_the_products_mailer_with_credentials_is_accepted(
    catcher: MailCatcher, http: httpx.Client
) -> None:
    # SMTP_URL may carry a user and password; the catcher accepts any, over plain text.
    url = f"smtp://someone:any-password@127.0.0.1:{catcher.smtp_port}"
    mailer.send(url, mailer.build_message("buyer@shop.example", "Receipt", "Thanks", "<p>T</p>"))

    [caught] = listing(http, to="buyer@shop.example")
    assert caught["subject"] == "Receipt"
    # Every mail we send has the headers RFC 5322 asks for: a Date and a unique Message-ID.
    headers = read(http, caught["id"])["headers"]
    sent_at = parsedate_to_datetime(headers["Date"][0])
    assert abs((datetime.now(UTC) - sent_at).total_seconds()) < 60
    assert headers["Message-ID"][0].endswith("@directorybolt.example>")
    mailer.send(url, mailer.build_message("buyer@shop.example", "Receipt", "Thanks"))
    ids = {read(http, m["id"])["headers"]["Message-ID"][0] for m in listing(http)}
    assert len(ids) == 2


def test_utf8_subjects_and_bodies(catcher: MailCatcher, http: httpx.Client) -> None:
    send(catcher, message(subject="Café réservé ✓", text="Grüße\n", html="<p>Grüße</p>"))

    [summary] = listing(http)
    detail = read(http, summary["id"])

    assert summary["subject"] == "Café réservé ✓"
    assert detail["text"] == "Grüße\n"


def test_the_oldest_messages_go_first_past_the_limit() -> None:
    mailbox = Mailbox(max_messages=2)
    for number in range(3):
        mailbox.add(parse(f"Subject: {number}\r\n\r\nbody\r\n".encode(), "a@x", ["b@x"]))

    assert [m.subject for m in mailbox.newest_first()] == ["2", "1"]


def test_a_malformed_message_is_still_caught() -> None:
    caught = parse(b"From: not an address\r\nDate: yesterday\r\n\r\nhi\r\n", "s@x", ["r@x"])

    assert caught.sender == "s@x"
    assert caught.date is None
    assert caught.text == "hi\n"


# -- the inbox pages ------------------------------------------------------------------------
def test_the_inbox_lists_messages(catcher: MailCatcher, http: httpx.Client) -> None:
    send(catcher, message(subject="<b>Bold</b> & welcome"))
    message_id = listing(http)[0]["id"]

    page = http.get("/")

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<html lang="en">' in page.text
    assert "<h1>Mail catcher</h1>" in page.text
    assert f'<a href="/messages/{message_id}">&lt;b&gt;Bold&lt;/b&gt; &amp; welcome</a>' in (
        page.text
    )
    assert '<th scope="col">Subject</th>' in page.text
    assert "1 message<" in page.text


def test_the_inbox_filters_by_recipient(catcher: MailCatcher, http: httpx.Client) -> None:
    send(catcher, message(to="a@example.com", subject="for a"))
    send(catcher, message(to="b@example.com", subject="for b"))

    page = http.get("/", params={"to": "a@example.com"}).text

    assert "for a" in page
    assert "for b" not in page
    assert 'value="a@example.com"' in page


def test_the_message_view_never_injects_the_html_part(
    catcher: MailCatcher, http: httpx.Client
) -> None:
    send(catcher, message())
    message_id = listing(http)[0]["id"]

    page = http.get(f"/messages/{message_id}")

    assert page.status_code == 200
    html = page.text
    # The text part is shown escaped, the HTML part only as an escaped srcdoc of a
    # sandboxed iframe: none of its markup is markup of the page.
    assert "<pre>Sign in: http://127.0.0.1:3000/auth/confirm?token=abc&amp;type=magiclink." in (
        html
    )
    assert "<script>" not in html
    assert "<img" not in html
    assert '<h1 id="inner">' not in html
    assert 'sandbox="allow-popups allow-popups-to-escape-sandbox"' in html
    assert "allow-scripts" not in html
    assert "allow-same-origin" not in html
    assert 'srcdoc="&lt;base target=&quot;_blank&quot;&gt;&lt;html&gt;' in html
    assert "&lt;script&gt;alert(&#x27;from the email&#x27;)&lt;/script&gt;" in html
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp
    assert "script-src" not in csp  # so no script may run at all
    # The links found are listed as links of the page, escaped.
    assert (
        '<a href="http://127.0.0.1:3000/auth/confirm?token=abc&amp;type=magiclink" '
        'rel="noreferrer">'
    ) in html


def test_the_html_part_alone_is_sandboxed(catcher: MailCatcher, http: httpx.Client) -> None:
    # Opened on its own (to see it at a phone's width), the mail's HTML is the whole page, so
    # the CSP sandbox must keep its scripts from running and its origin from being ours.
    send(catcher, message(List_Unsubscribe="<https://portal.example/unsubscribe/t>"))
    send(catcher, message(subject="Text only", html=None))
    with_html, text_only = sorted(listing(http), key=lambda m: m["subject"] == "Text only")

    page = http.get(f"/messages/{with_html['id']}/html")

    assert page.status_code == 200
    assert page.text == HOSTILE_HTML + "\n"
    csp = page.headers["content-security-policy"]
    assert csp.startswith("sandbox allow-popups allow-popups-to-escape-sandbox;")
    assert "allow-scripts" not in csp
    assert "allow-same-origin" not in csp
    assert "default-src 'none'" in csp
    assert http.get(f"/messages/{text_only['id']}/html").status_code == 404
    # The message page links to it, and shows the headers people check in a mail.
    view = http.get(f"/messages/{with_html['id']}").text
    assert f'href="/messages/{with_html["id"]}/html"' in view
    assert "<dt>List-Unsubscribe</dt><dd>&lt;https://portal.example/unsubscribe/t&gt;</dd>" in view


def test_the_inbox_can_delete_everything(catcher: MailCatcher, http: httpx.Client) -> None:
    send(catcher, message())

    response = http.post("/messages/delete", follow_redirects=True)

    assert str(response.url).endswith("/")
    assert "No messages yet" in response.text
    assert listing(http) == []


# -- the command line -----------------------------------------------------------------------
def test_the_command_line_serves_both_ports() -> None:
    smtp_port, http_port = free_port(), free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "devstack.mailcatcher",
            "--smtp-port",
            str(smtp_port),
            "--http-port",
            str(http_port),
        ],
        env=os.environ | {"LOG_LEVEL": "INFO"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == f"SMTP_URL=smtp://127.0.0.1:{smtp_port}"
        assert process.stdout.readline().strip() == f"MAILCATCHER_URL=http://127.0.0.1:{http_port}"
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as client:
            client.login("user", "a-secret-password")
            client.send_message(message(subject="via the CLI"))
        with httpx.Client(base_url=f"http://127.0.0.1:{http_port}", trust_env=False) as http:
            assert [m["subject"] for m in wait_for_messages(http)] == ["via the CLI"]
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=10)
    assert process.returncode == 0
    assert "mailcatcher.received" in stderr
    assert "a-secret-password" not in stderr
    assert "login_data is deprecated" not in stderr


def wait_for_messages(http: httpx.Client) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 15
    while True:
        try:
            messages: list[dict[str, Any]] = http.get("/api/messages").json()["messages"]
            if messages:
                return messages
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError("no message arrived")
        time.sleep(0.05)


# -- forwarding the campaign mailboxes' mail, Mailgun-style ----------------------------------
FORWARD_KEY = "forward-tests-signing-key"
FORWARD_DOMAIN = "mailbox.forward.example"


class Receiver:
    """A local server standing where the inbound-mail webhook would: records each form post
    and answers with the next status of `statuses` (then 200)."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.posts: list[dict[str, str]] = []
        self.statuses = list(statuses or [])
        app = FastAPI()

        @app.post("/inbound/mailgun")
        async def inbound(request: Request) -> JSONResponse:
            form = await request.form()
            self.posts.append({k: v for k, v in form.items() if isinstance(v, str)})
            status = self.statuses.pop(0) if self.statuses else 200
            return JSONResponse({}, status_code=status)

        self.server = AppServer(app, "the receiver")

    def wait(self, count: int, deadline: float = 10.0) -> list[dict[str, str]]:
        end = time.monotonic() + deadline
        while len(self.posts) < count:
            if time.monotonic() > end:
                raise AssertionError(f"{len(self.posts)} forwards arrived, not {count}")
            time.sleep(0.02)
        return self.posts


@pytest.fixture
def forwarding(request: pytest.FixtureRequest) -> Iterator[tuple[MailCatcher, Receiver]]:
    receiver = Receiver(getattr(request, "param", None))
    with receiver.server:
        settings = ForwardSettings(
            url=f"{receiver.server.url}/inbound/mailgun",
            domain=FORWARD_DOMAIN,
            signing_key=FORWARD_KEY,
            attempts=3,
            backoff_seconds=0.05,
        )
        with MailCatcher(smtp_port=free_port(), forward=settings) as running:
            yield running, receiver


def _mailgun_signature(timestamp: str, token: str) -> str:
    return hmac.new(FORWARD_KEY.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()


def test_smtp_mail_for_the_mailbox_domain_is_forwarded_signed(
    forwarding: tuple[MailCatcher, Receiver],
) -> None:
    catcher, receiver = forwarding
    mail = message(
        to=f"bakery-1a2b3c4d@{FORWARD_DOMAIN}",
        subject="Confirm your account",
        text="Your code is 424242\n",
        Message_Id="<abc-1@listings.example>",
    )
    send(catcher, mail)

    [post] = receiver.wait(1)
    assert post["recipient"] == f"bakery-1a2b3c4d@{FORWARD_DOMAIN}"
    assert post["sender"] == "no-reply@directorybolt.example"
    assert post["from"] == "DirectoryBolt <no-reply@directorybolt.example>"
    assert post["subject"] == "Confirm your account"
    assert post["body-plain"] == "Your code is 424242\n"
    assert post["body-html"] == HOSTILE_HTML + "\n"
    assert post["Message-Id"] == "<abc-1@listings.example>"
    assert ["Subject", "Confirm your account"] in json.loads(post["message-headers"])
    assert len(post["token"]) == 50
    assert abs(int(post["timestamp"]) - time.time()) < 30
    assert post["signature"] == _mailgun_signature(post["timestamp"], post["token"])
    # Taken over SMTP from loopback: the stand-in's SPF verdict is Pass, as a field and a
    # header like Mailgun's; it claims no DKIM verdict (it verifies no signature).
    assert post["X-Mailgun-Spf"] == "Pass"
    assert ["X-Mailgun-Spf", "Pass"] in json.loads(post["message-headers"])
    assert "X-Mailgun-Dkim-Check-Result" not in post
    # Still caught as before, for people reading the inbox.
    assert catcher.mailbox.newest_first(to=f"bakery-1a2b3c4d@{FORWARD_DOMAIN}")


def test_mail_for_other_domains_is_not_forwarded(
    forwarding: tuple[MailCatcher, Receiver],
) -> None:
    catcher, receiver = forwarding
    send(catcher, message(to="owner@bakery.example", subject="not ours"))
    send(catcher, message(to=f"someone@sub.{FORWARD_DOMAIN}", subject="a subdomain is not ours"))
    send(catcher, message(to=f"box-1234abcd@{FORWARD_DOMAIN}", subject="ours"))

    receiver.wait(1)
    time.sleep(0.3)  # time for a wrongful forward of the first two to arrive too
    assert [post["subject"] for post in receiver.posts] == ["ours"]
    assert len(catcher.mailbox.newest_first()) == 3


@pytest.mark.parametrize("forwarding", [[503, 500]], indirect=True)
def test_a_failed_forward_is_retried_and_signed_afresh(
    forwarding: tuple[MailCatcher, Receiver],
) -> None:
    catcher, receiver = forwarding
    send(catcher, message(to=f"box-1234abcd@{FORWARD_DOMAIN}"))

    posts = receiver.wait(3)
    assert len({post["token"] for post in posts}) == 3
    assert len({post["Message-Id"] for post in posts}) == 1
    time.sleep(0.3)
    assert len(receiver.posts) == 3, "a delivered forward was posted again"


@pytest.mark.parametrize("forwarding", [[406]], indirect=True)
def test_a_forward_refused_with_406_is_not_retried(
    forwarding: tuple[MailCatcher, Receiver],
) -> None:
    catcher, receiver = forwarding
    send(catcher, message(to=f"unknown-0000@{FORWARD_DOMAIN}"))

    receiver.wait(1)
    time.sleep(0.4)
    assert len(receiver.posts) == 1


def test_the_spf_stand_in_vouches_only_for_loopback_clients_and_drops_senders_verdicts() -> None:
    # A sender writing Mailgun's verdict headers into its own mail, from a host that is not
    # this one: nothing it wrote is passed on, and the stand-in gives no verdict of its own.
    raw = (
        b"From: noreply@listings.example\r\nTo: box-1a2b3c4d@"
        + FORWARD_DOMAIN.encode()
        + b"\r\nSubject: Confirm\r\nX-Mailgun-Spf: Pass\r\n"
        b"X-Mailgun-Dkim-Check-Result: Pass\r\n\r\nhi\r\n"
    )
    remote = parse(
        raw, "noreply@listings.example", [f"box-1a2b3c4d@{FORWARD_DOMAIN}"], "203.0.113.7"
    )
    posted = forward_fields(remote, f"box-1a2b3c4d@{FORWARD_DOMAIN}", FORWARD_KEY)
    names = {name.lower() for name, _ in json.loads(posted["message-headers"])}
    assert not names & {"x-mailgun-spf", "x-mailgun-dkim-check-result"}
    assert not {name.lower() for name in posted} & {"x-mailgun-spf", "x-mailgun-dkim-check-result"}
    assert spf_verdict(remote) is None
    # Not taken over SMTP at all (no peer): no verdict either.
    assert spf_verdict(parse(raw, "a@x", ["b@x"])) is None
    # The same mail from loopback: only the stand-in's own SPF Pass goes out.
    local = parse(raw, "noreply@listings.example", [f"box-1a2b3c4d@{FORWARD_DOMAIN}"], "::1")
    posted = forward_fields(local, f"box-1a2b3c4d@{FORWARD_DOMAIN}", FORWARD_KEY)
    verdicts = [
        pair
        for pair in json.loads(posted["message-headers"])
        if pair[0].lower().startswith("x-mailgun")
    ]
    assert verdicts == [["X-Mailgun-Spf", "Pass"]]
