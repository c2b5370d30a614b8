"""The customer's job page and its live event stream (GET /jobs/{id}, /jobs/{id}/events),
against real Postgres, the Auth/Realtime stand-in and a real uvicorn server for streams.
Attempts are reported through the SQL queue functions as the service role."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from portal.jobs.live import StreamTiming
from portal.reports.progress import build_progress, estimate_completion
from tests.support.orchestrator_harness import wait_for
from tests.support.portal_harness import PortalStack, access_token
from tests.support.portal_jobs import REALTIME_ONLY, EventStream, make_job, served_portal

HTML = {"accept": "text/html"}


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_job_page_shows_status_counts_progress_estimate_and_every_directory(
    portal_stack: PortalStack,
) -> None:
    job = make_job(portal_stack, "ann@example.com", directories=4)
    first, second, third, fourth = job.directories
    job.claim()
    job.report(first, listing_url="https://listings.example/ann")
    job.report(second, "needs_action", action_required="Confirm the email sent to ann@example.com")
    job.report(third, "transient_error", error_code="timeout")
    job.start(fourth)

    response = portal_stack.client.get(
        f"/jobs/{job.id}", cookies=job.customer.cookies, headers=HTML
    )
    assert response.status_code == 200
    page = response.text
    text = _text(page)
    assert 'id="job-status" class="status status-neutral">In progress<' in page
    assert '<progress id="job-progress" max="4" value="2"' in page
    assert "2 of 4 directories processed (50%)" in text
    # Counts per directory state: 1 submitted, 1 needs action, 1 queued again, 1 submitting.
    counts = re.search(r'<ul class="job-counts".*?</ul>', page, re.S)
    assert counts is not None
    assert re.findall(r'class="count-(\w+)"><span class="count">(\d+)<', counts.group(0)) == [
        ("submitted", "1"),
        ("needs_action", "1"),
        ("in_progress", "1"),
        ("queued", "1"),
    ]
    # The estimate, and how it is made.
    # The pace so far (claimed moments ago): never "About under a minute".
    assert re.search(r"(About [\w ]+|Less than a minute) left \(around", text)
    assert "under a minute" not in text
    assert "Estimated from the pace so far: 2 of 4 directories done since work started" in text
    assert "1 directory needs something from you before it lists your business." in text
    # Every directory, its state, attempts, listing and what to do.
    rows = re.findall(r'<tr id="dir-([\w-]+)"', page)
    assert rows == job.directories
    assert 'href="https://listings.example/ann"' in page
    assert "What we need from you" in text
    assert "What to do: Confirm the email sent to ann@example.com" in text
    third_row = re.search(rf'<tr id="dir-{third}".*?</tr>', page, re.S)
    assert third_row is not None
    assert ">Queued<" in third_row.group(0)
    assert 'data-label="Attempts">1</td>' in third_row.group(0)  # one attempt so far
    # Live regions for screen readers; the script that keeps the page live.
    assert 'role="status" aria-live="polite"' in page
    assert 'aria-live="assertive"' in page
    assert '<script src="/static/job_live.js" defer>' in page
    assert 'id="job-report" hidden' in page


def test_the_job_page_words_one_directory_and_several(portal_stack: PortalStack) -> None:
    one = make_job(portal_stack, "eve@example.com", directories=1)
    one.claim()
    one.report(one.directories[0], "needs_action", action_required="Confirm the email.")
    several = make_job(portal_stack, "fay@example.com", directories=3)
    several.claim()
    for directory in several.directories[:2]:
        several.report(directory, "needs_action", action_required="Confirm the email.")

    def page(job: Any) -> str:
        return _text(portal_stack.client.get(f"/jobs/{job.id}", cookies=job.customer.cookies).text)

    text = page(one)
    assert "1 of 1 directory processed (100%)" in text
    assert "1 directory needs something from you before it lists your business." in text
    text = page(several)
    assert "2 of 3 directories processed (66%)" in text
    assert "2 directories need something from you before they list your business." in text
    for said in (page(one), text):
        assert not re.search(r"\b1 directories|\b[02-9]\d* directory\b|under a minute", said)


def test_a_job_waiting_for_a_worker_has_no_estimate_yet(portal_stack: PortalStack) -> None:
    job = make_job(portal_stack, "bea@example.com", directories=2)
    page = portal_stack.client.get(f"/jobs/{job.id}", cookies=job.customer.cookies).text
    text = _text(page)
    assert "Waiting in the queue" in text
    assert "0 of 2 directories processed (0%)" in text
    assert "Not yet: your job is waiting for a free worker." in text


def test_a_staff_pause_or_cancel_shows_the_customer_why(portal_stack: PortalStack) -> None:
    job = make_job(portal_stack, "cal@example.com", directories=2)
    job.sql(
        "select jobs_pause(%s, 'staff:ops@example.com', 'We are checking your opening hours.')",
        job.id,
    )
    page = portal_stack.client.get(f"/jobs/{job.id}", cookies=job.customer.cookies).text
    assert "Paused by our team: We are checking your opening hours." in _text(page)
    job.sql("select jobs_cancel(%s, 'staff:ops@example.com', 'You asked us to <stop>.')", job.id)
    page = portal_stack.client.get(f"/jobs/{job.id}", cookies=job.customer.cookies).text
    assert "Cancelled by our team: You asked us to &lt;stop&gt;." in page


def test_estimate_is_the_pace_so_far_applied_to_what_is_left() -> None:
    now = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    started = now - timedelta(minutes=10)
    estimate = estimate_completion("in_progress", started, total=50, done=10, now=now)
    # 10 done in 10 minutes: 40 left take 40 minutes.
    assert estimate.completes_at == now + timedelta(minutes=40)
    assert estimate.text == "About 40 minutes left (around 29 Nov 2026, 12:40 UTC)."
    assert "10 of 50 directories done since work started 10 minutes ago" in estimate.basis
    assert estimate_completion("in_progress", started, 50, 0, now).completes_at is None
    assert estimate_completion("paused", started, 50, 10, now).text.startswith("No estimate")
    assert estimate_completion("complete", started, 50, 50, now).text == "Finished."
    progress = build_progress(
        {"id": "j", "status": "in_progress", "started_at": started},
        [{"status": s} for s in ("submitted", "failed", "queued")],
        now=now,
    )
    assert (progress.total, progress.done, progress.percent) == (3, 2, 66)


def test_the_event_stream_pushes_an_update_when_an_attempt_is_reported(
    portal_stack: PortalStack,
) -> None:
    job = make_job(portal_stack, "cat@example.com", directories=3)
    first, second, _ = job.directories
    job.claim()
    token = access_token(job.customer.user_id, job.customer.email)
    with (
        served_portal(portal_stack, REALTIME_ONLY) as (url, _app),
        EventStream(f"{url}/jobs/{job.id}/events", token) as stream,
    ):
        initial = stream.next()
        assert stream.status == 200
        assert stream.headers is not None
        assert stream.headers["content-type"].startswith("text/event-stream")
        data: dict[str, Any] = initial["data"]
        assert (data["status"], data["done"], data["total"]) == ("in_progress", 0, 3)
        assert set(data["rows"]) == set(job.directories)  # the first message has every row
        # Realtime has joined (the stream says so) before we report.
        while not data["live"]:
            data = stream.next()["data"]

        job.report(first, listing_url="https://listings.example/cat")
        update = stream.next()["data"]
        assert update["done"] == 1
        assert update["percent"] == 33
        assert list(update["rows"]) == [first]  # only what changed
        assert "Submitted" in update["rows"][first]
        assert 'href="https://listings.example/cat"' in update["rows"][first]
        assert update["progress_text"] == "1 of 3 directories processed (33%)"
        assert '<span class="count">1</span>' in update["counts_html"]

        job.report(second, "needs_action", action_required="Reply to the directory's text message")
        update = stream.next()["data"]
        assert list(update["rows"]) == [second]
        assert "Reply to the directory&#39;s text message" in update["rows"][second]
        assert update["urgent"] is True
        assert update["announce"].endswith(" needs your action.")
        assert "Reply to the directory&#39;s text message" in update["needs_action_html"]
        # Heartbeat comments keep the stream open between updates.
        assert stream.comments.get(timeout=5) == ": keepalive"


def test_the_stream_reports_the_job_finishing_and_the_report_link(
    portal_stack: PortalStack,
) -> None:
    job = make_job(portal_stack, "dan@example.com", directories=1)
    job.claim()
    token = access_token(job.customer.user_id, job.customer.email)
    with (
        served_portal(portal_stack, REALTIME_ONLY) as (url, _app),
        EventStream(f"{url}/jobs/{job.id}/events", token) as stream,
    ):
        data = stream.next()["data"]
        while not data["live"]:
            data = stream.next()["data"]
        job.report(job.directories[0])
        job.complete()
        while data["status"] != "complete":
            data = stream.next()["data"]
        assert data["final"] is True
        assert data["report_url"] == f"/jobs/{job.id}/report"
        assert data["announce"] == "Your job is now: Complete. Your report is ready."


def test_without_realtime_the_stream_rereads_the_job_on_a_timer(portal_stack: PortalStack) -> None:
    job = make_job(portal_stack, "eve@example.com", directories=2)
    job.claim()
    token = access_token(job.customer.user_id, job.customer.email)
    timing = StreamTiming(heartbeat_seconds=0.5, reread_seconds=0.5)
    # Realtime refuses a wrong API key, so the stream never becomes live.
    with (
        served_portal(portal_stack, timing, supabase_anon_key="not-an-api-key") as (url, _app),
        EventStream(f"{url}/jobs/{job.id}/events", token) as stream,
    ):
        assert stream.next()["data"]["live"] is False
        job.report(job.directories[0])
        update = stream.next()["data"]
        assert update["live"] is False
        assert update["done"] == 1


def test_the_stream_closes_when_the_browser_goes_and_when_the_token_expires(
    portal_stack: PortalStack,
) -> None:
    job = make_job(portal_stack, "fay@example.com", directories=1)
    timing = StreamTiming(heartbeat_seconds=0.3)
    with served_portal(portal_stack, timing) as (url, _app):
        listeners = _realtime_channels(portal_stack)
        stream = EventStream(
            f"{url}/jobs/{job.id}/events", access_token(job.customer.user_id, job.customer.email)
        )
        data = stream.next()["data"]
        while not data["live"]:
            data = stream.next()["data"]
        assert _realtime_channels(portal_stack) == listeners + 1
        stream.close()
        # The server noticed, ended the stream and left Realtime.
        wait_for(lambda: _realtime_channels(portal_stack) == listeners, timeout=15)

        short = access_token(job.customer.user_id, job.customer.email, expires_in=3)
        started = time.monotonic()
        with EventStream(f"{url}/jobs/{job.id}/events", short) as expiring:
            expiring.next()
            assert expiring.ended.wait(timeout=20)
        # It ran until the token's expiry (about 3 s), not beyond.
        assert time.monotonic() - started < 20


def _realtime_channels(stack: PortalStack) -> int:
    """Topics someone is joined to on the Realtime stand-in (its broadcast hub)."""
    app: Any = stack.supabase._server.config.app
    return int(app.state.runtime.hub.topic_count())


@pytest.mark.parametrize("path", ["", "/events"])
def test_an_unknown_or_malformed_job_is_404(portal_stack: PortalStack, path: str) -> None:
    customer = portal_stack.customer("gus@example.com")
    for job_id in ("00000000-0000-0000-0000-000000000000", "not-a-uuid"):
        response = portal_stack.client.get(
            f"/jobs/{job_id}{path}", cookies=customer.cookies, headers=HTML
        )
        assert response.status_code == 404
