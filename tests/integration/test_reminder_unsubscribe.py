"""One-click unsubscribe from reminder emails, through the real notifier, SMTP catcher, portal
and database: a reminder (only a reminder) carries List-Unsubscribe and List-Unsubscribe-Post;
opening the link changes nothing; a mail provider's one-click POST (no cookies, a foreign
Origin) stops the reminders; a forged, altered or expired link is refused with a page that
says so and stops nothing; afterwards reminders are skipped while the report still comes."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from tests.integration.test_notifications import report
from tests.integration.test_reminders_stop_when_done import age_sent_emails, queue_reminders
from tests.support.portal_harness import portal_app
from tests.support.webhook_harness import (
    PORTAL_URL,
    Stack,
    fill_business,
    stack,
    use_directories,
    wait_for,
)

__all__ = ["stack"]  # the fixture, imported for pytest

EMAIL = "unsubscribe@example.com"
ONE_CLICK = {"List-Unsubscribe": "One-Click"}
WEBMAIL = {"Origin": "https://webmail.example"}  # a provider posting from the reader's browser


@pytest.fixture
def portal(stack: Stack) -> Iterator[TestClient]:
    app = portal_app(stack.db_url, stack.auth.url, portal_url=PORTAL_URL)
    with TestClient(app, base_url=PORTAL_URL, follow_redirects=False) as client:
        yield client


def header(mail: dict[str, Any], name: str) -> list[str]:
    return [v for k, values in mail["headers"].items() if k.lower() == name.lower() for v in values]


def opt_outs(stack: Stack) -> int:
    return int(stack.scalar("select count(*) from email_opt_outs"))


def altered(token: str) -> str:
    return ("B" if token[0] == "A" else "A") + token[1:]


def test_one_click_stops_reminders_and_only_reminders(stack: Stack, portal: TestClient) -> None:
    use_directories(stack.conn, "dir-a", "dir-b")
    order = stack.paid_order(EMAIL)
    stack.wait_mails(EMAIL, 1)
    fill_business(stack.conn, order["customer_id"])
    job_id = stack.scalar("select id from jobs_enqueue(%s)", order["id"])
    token = stack.scalar("select lease_token from jobs_next('worker-1', 300)")
    report(
        stack.conn,
        job_id,
        token,
        "dir-a",
        outcome="needs_action",
        confirmed=False,
        action="Click the link A emailed you",
    )
    report(stack.conn, job_id, token, "dir-b")
    stack.wait_mails(EMAIL, 3)  # payment, started, action needed
    age_sent_emails(stack, job_id)
    assert queue_reminders(stack.conn) == 1
    mails = stack.wait_mails(EMAIL, 4)

    # Only the reminder carries the one-click headers; its link is the portal's.
    [reminder] = [m for m in mails if m["subject"].startswith("Reminder")]
    for other in (m for m in mails if m is not reminder):
        assert not header(other, "List-Unsubscribe"), other["subject"]
        assert not header(other, "List-Unsubscribe-Post"), other["subject"]
    assert header(reminder, "List-Unsubscribe-Post") == ["List-Unsubscribe=One-Click"]
    [list_unsubscribe] = header(reminder, "List-Unsubscribe")
    match = re.fullmatch(
        rf"<({re.escape(PORTAL_URL)}/unsubscribe/([A-Za-z0-9_-]{{43}}))>", list_unsubscribe
    )
    assert match, list_unsubscribe
    url, link_token = match.groups()
    path = urlsplit(url).path
    assert url in reminder["links"], "the footer links to it too"
    assert url in reminder["text"]

    # Opening the link (what a scanner does) only asks; nothing changes.
    page = portal.get(path)
    assert page.status_code == 200
    assert "Stop reminder emails?" in page.text
    assert "still email you about what you bought" in page.text
    assert "u…@example.com" in page.text
    assert page.headers["referrer-policy"] == "no-referrer"
    assert opt_outs(stack) == 0

    # Attacks: a forged token, the real one altered, a malformed one. Each gets a page that
    # says the link does not work, and nothing changes.
    # A malformed one is not even a token path: a cross-site POST to it is refused by the
    # cross-site guard (403) before the router sees it.
    for bad in (secrets.token_urlsafe(32), altered(link_token), link_token[:-1], "x" * 500):
        malformed = len(bad) != len(link_token)
        for answer in (
            portal.get(f"/unsubscribe/{bad}"),
            portal.post(f"/unsubscribe/{bad}", data=ONE_CLICK),
            *(
                []
                if malformed
                else [portal.post(f"/unsubscribe/{bad}", data=ONE_CLICK, headers=WEBMAIL)]
            ),
        ):
            assert answer.status_code == 404, (bad, answer.status_code)
            assert "This link does not work" in answer.text
            assert "nothing was changed" in answer.text
        if malformed:
            cross_site = portal.post(f"/unsubscribe/{bad}", data=ONE_CLICK, headers=WEBMAIL)
            assert cross_site.status_code == 403
    # An expired link (its 90 days over) is refused the same way, and says why. Issuing gives
    # back the customer's unexpired link (20261207000210), so this one is put in as it was
    # left by an earlier issue.
    expired = secrets.token_urlsafe(32)
    stack.conn.execute(
        "insert into email_unsubscribe_links (token_hash, customer_id, list, created_at,"
        " expires_at) values (sha256(convert_to(%s, 'UTF8')), %s, 'reminders',"
        " now() - interval '91 days', now() - interval '1 day')",
        (expired, order["customer_id"]),
    )
    for answer in (
        portal.get(f"/unsubscribe/{expired}"),
        portal.post(f"/unsubscribe/{expired}", data=ONE_CLICK, headers=WEBMAIL),
    ):
        assert answer.status_code == 410
        assert "This link has expired" in answer.text
    assert opt_outs(stack) == 0, "no refused link stopped anything"

    # The cross-site guard still holds everywhere else: other paths, any other method on
    # the link, paths below or beside it, and tokens not of the issued shape.
    assert portal.post("/sign-out", headers=WEBMAIL).status_code == 403
    for method in ("PUT", "PATCH", "DELETE"):
        assert portal.request(method, path, headers=WEBMAIL).status_code == 403, method
    for near in (
        f"{path}/",
        f"{path}/more",
        f"{path}x",
        path[:-1],
        path[:-1] + "=",
        "/unsubscribe/",
    ):
        assert portal.post(near, data=ONE_CLICK, headers=WEBMAIL).status_code == 403, near

    # The provider's one-click POST: no cookies, the webmail's Origin, RFC 8058's body.
    done = portal.post(path, data=ONE_CLICK, headers=WEBMAIL)
    assert done.status_code == 200, done.text
    assert "Reminder emails stopped" in done.text
    assert "when your report is ready" in done.text
    assert opt_outs(stack) == 1
    again = portal.post(path, data=ONE_CLICK)
    assert again.status_code == 200
    assert opt_outs(stack) == 1, "a second click changes nothing"
    assert "Reminders are already stopped" in portal.get(path).text

    # The next reminder is skipped (and says why); the report still comes.
    age_sent_emails(stack, job_id)
    assert queue_reminders(stack.conn) == 1
    reason = wait_for(
        lambda: stack.scalar(
            "select skipped_reason from notifications where job_id = %s"
            " and kind = 'needs_action_reminder' and skipped_reason is not null",
            job_id,
        ),
        "the reminder after the opt-out to be skipped",
    )
    assert reason == "the customer unsubscribed from reminders"
    stack.conn.execute("select jobs_complete(%s, %s)", (job_id, token))
    mails = stack.wait_mails(EMAIL, 5)
    assert mails[0]["subject"] == "Your DirectoryBolt report for Bluebird Bakery is ready"
    assert [m["subject"] for m in mails].count(reminder["subject"]) == 1, "no second reminder"
