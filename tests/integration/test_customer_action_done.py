""" "I've done it" on the customer's job page (issue 13, "no dead ends"): each directory needing
the customer says what to do, links to the directory's site and has a button that moves it to
our team (needs_review, "customer says done"), audited with the customer as actor. Another
customer cannot do it on your job (404, nothing changed), nor staff through the customer's
page, nor a signed-out visitor, nor another site's page (cross-site POST refused)."""

from __future__ import annotations

import re
from typing import Any

import psycopg

from tests.support.portal_harness import PORTAL_URL, PortalStack
from tests.support.portal_jobs import Job, make_job

HTML = {"accept": "text/html"}


def action_job(stack: PortalStack, email: str) -> Job:
    """A complete job: dirs 0 and 1 need the customer, dir 2 is submitted."""
    job = make_job(stack, email, directories=3)
    first, second, third = job.directories
    job.claim()
    job.report(first, "needs_action", action_required="Click the link Test directory emailed you")
    job.report(second, "needs_action", action_required="Answer the verification call")
    job.report(third)
    job.complete()
    return job


def state(job: Job, directory_id: str) -> tuple[Any, ...]:
    rows = job.sql(
        "select status::text, last_message from job_directories"
        " where job_id = %s and directory_id = %s",
        job.id,
        directory_id,
    )
    return rows[0]


def test_each_item_says_what_to_do_links_the_site_and_ive_done_it_hands_it_to_staff(
    portal_stack: PortalStack,
) -> None:
    job = action_job(portal_stack, "ann@example.com")
    first, second, _ = job.directories
    client = portal_stack.client
    page = client.get(f"/jobs/{job.id}", cookies=job.customer.cookies, headers=HTML).text
    item = re.search(
        rf'<li class="needs-action-item" data-needs-action="{first}">.*?</li>', page, re.S
    )
    assert item is not None
    html = item.group(0)
    assert "Click the link Test directory emailed you" in html
    assert f'href="http://127.0.0.1:9/{first}" target="_blank" rel="noopener noreferrer"' in html
    assert f'action="/jobs/{job.id}/directories/{first}/done"' in html
    assert "I've done it" in html

    done = client.post(
        f"/jobs/{job.id}/directories/{first}/done",
        cookies=job.customer.cookies,
        headers={"origin": PORTAL_URL},
    )
    assert done.status_code == 303
    assert done.headers["location"] == f"/jobs/{job.id}?action=done#dir-{first}"
    assert state(job, first) == ("needs_review", "customer says done")
    assert state(job, second)[0] == "needs_action"
    assert job.sql(
        "select actor, from_status, to_status from audit_log"
        " where job_id = %s and action = 'directory.customer_done'",
        job.id,
    ) == [(f"user:{job.customer.user_id}", "needs_action", "needs_review")]

    after = client.get(done.headers["location"], cookies=job.customer.cookies, headers=HTML).text
    assert 'id="action-done-notice"' in after
    assert f'data-needs-action="{first}"' not in after, "it no longer asks for it"
    assert f'data-needs-action="{second}"' in after
    row = re.search(rf'<tr id="dir-{first}".*?</tr>', after, re.S)
    assert row is not None
    # In plain words, from a fact the customer may read (not the staff-only note).
    assert "You told us you've done what" in row.group(0)
    assert "our team is checking it" in row.group(0)
    assert "showed no confirmation" not in row.group(0)
    other = re.search(rf'<tr id="dir-{second}".*?</tr>', after, re.S)
    assert other is not None
    assert "You told us" not in other.group(0)

    # Pressed again (a second tab): nothing changes, the page says it needs nothing more.
    again = client.post(f"/jobs/{job.id}/directories/{first}/done", cookies=job.customer.cookies)
    assert again.headers["location"] == f"/jobs/{job.id}?action=settled#dir-{first}"
    assert len(job.sql("select 1 from audit_log where action = 'directory.customer_done'")) == 1


def test_another_customer_staff_or_a_stranger_cannot_do_it_on_your_job(
    portal_stack: PortalStack,
) -> None:
    job = action_job(portal_stack, "victim@example.com")
    first = job.directories[0]
    attacker = portal_stack.customer("attacker@example.com")
    client = portal_stack.client
    url = f"/jobs/{job.id}/directories/{first}/done"

    as_attacker = client.post(url, cookies=attacker.cookies, headers=HTML)
    assert as_attacker.status_code == 404
    assert "not yours to see" in as_attacker.text
    # Staff act through the review queue, not as the customer.
    assert client.post(url, cookies=portal_stack.staff(), headers=HTML).status_code == 404
    signed_out = client.post(url)
    assert signed_out.status_code == 303
    assert signed_out.headers["location"].startswith("/sign-in")
    # Another site's page posting with the victim's cookies (CSRF) is refused.
    cross_site = client.post(
        url, cookies=job.customer.cookies, headers={"origin": "https://evil.example"}
    )
    assert cross_site.status_code == 403
    # A malformed job or directory is a 404/422, never a server error.
    assert (
        client.post(
            f"/jobs/nope/directories/{first}/done", cookies=job.customer.cookies
        ).status_code
        == 404
    )
    assert (
        client.post(
            f"/jobs/{job.id}/directories/BAD%20ID/done", cookies=job.customer.cookies
        ).status_code
        == 422
    )

    assert state(job, first) == ("needs_action", None)
    assert job.sql("select count(*) from audit_log where action = 'directory.customer_done'") == [
        (0,)
    ]
    # The attacker's own page for that job is a 404 as well.
    with psycopg.connect(portal_stack.db_url) as conn:
        assert conn.execute(
            "select count(*) from jobs where customer_id = %s", (attacker.customer_id,)
        ).fetchone() == (0,)
