"""Row-level security through the portal's job pages: another customer (and staff, on these
customer pages) gets 404 for every page, stream and download of someone's job — the same
answer as for a job that does not exist, so nothing tells them it does; a signed-out visitor
is sent to sign in and comes back to the page afterwards."""

from __future__ import annotations

from urllib.parse import quote

import psycopg
import pytest

from tests.support.portal_harness import PortalStack, sign_in_cookies
from tests.support.portal_jobs import finished_job, make_job

SUFFIXES = ("", "/events", "/report", "/report.csv", "/report.pdf")


@pytest.fixture
def two_customers(portal_stack: PortalStack) -> tuple[PortalStack, str, dict[str, str]]:
    """A's completed job (report written), and B's cookies (B has a job of their own)."""
    job_a = finished_job(portal_stack, "alice@example.com")
    job_b = make_job(portal_stack, "bob@example.com", directories=2)
    return portal_stack, str(job_a.id), job_b.customer.cookies


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_another_customer_gets_404_for_every_page_and_download(
    two_customers: tuple[PortalStack, str, dict[str, str]], suffix: str
) -> None:
    stack, job_a, bob = two_customers
    for accept in ("text/html", "text/event-stream", "*/*"):
        response = stack.client.get(
            f"/jobs/{job_a}{suffix}", cookies=bob, headers={"accept": accept}
        )
        assert response.status_code == 404, (suffix, accept)
        assert "Bluebird" not in response.text  # nothing of A's business leaks
        assert response.headers["content-type"].split(";")[0] in ("text/html", "application/json")


def test_a_missing_job_and_someone_elses_job_look_the_same(
    two_customers: tuple[PortalStack, str, dict[str, str]],
) -> None:
    stack, job_a, bob = two_customers
    html = {"accept": "text/html"}
    theirs = stack.client.get(f"/jobs/{job_a}", cookies=bob, headers=html)
    missing = stack.client.get(
        "/jobs/11111111-1111-1111-1111-111111111111", cookies=bob, headers=html
    )
    assert theirs.status_code == missing.status_code == 404
    assert theirs.text == missing.text


# The owner's event stream is read over a real socket in test_portal_jobs.py.
@pytest.mark.parametrize("suffix", [s for s in SUFFIXES if s != "/events"])
def test_the_owner_is_served(
    two_customers: tuple[PortalStack, str, dict[str, str]], suffix: str
) -> None:
    stack, job_a, _bob = two_customers
    alice = sign_in_cookies(*stack_user(stack, "alice@example.com"))
    response = stack.client.get(f"/jobs/{job_a}{suffix}", cookies=alice)
    assert response.status_code == 200, suffix


def stack_user(stack: PortalStack, email: str) -> tuple[str, str]:
    with psycopg.connect(stack.db_url) as conn:
        row = conn.execute("select user_id from customers where email = %s", (email,)).fetchone()
    assert row is not None
    return str(row[0]), email


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_staff_are_held_to_their_own_jobs_on_customer_pages(
    two_customers: tuple[PortalStack, str, dict[str, str]], suffix: str
) -> None:
    stack, job_a, _bob = two_customers
    staff = stack.staff()
    response = stack.client.get(f"/jobs/{job_a}{suffix}", cookies=staff)
    assert response.status_code == 404


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_signed_out_visitors_are_sent_to_sign_in(
    two_customers: tuple[PortalStack, str, dict[str, str]], suffix: str
) -> None:
    stack, job_a, _bob = two_customers
    path = f"/jobs/{job_a}{suffix}"
    response = stack.client.get(path)
    assert response.status_code == 303
    assert response.headers["location"] == f"/sign-in?next={quote(path, safe='/')}"
