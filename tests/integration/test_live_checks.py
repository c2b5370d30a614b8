"""Live checks end to end through the orchestrator's API: the real database schedules a
check when a listing is submitted with its URL, the worker-side checker (worker/live_checks)
claims it over HTTP, fetches a tiny local listing site through its egress guard, compares
the business's details and reports; the database moves the directory. Plus the refusals
(401, 404, 409 lease lost, 422) and two claimers never taking the same check."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
from fastapi import FastAPI
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.testclient import TestClient

from dbolt.contracts import LiveCheckResult, LiveCheckTask
from dbolt.orchestrator_client import OrchestratorClient
from dbolt.sql import Queries
from devstack.serving import AppServer
from tests.support.orchestrator_harness import WORKER, WORKER_TOKEN, build, serve, wait_for
from tests.support.queue_helpers import create_job, enable_test_directories, report
from worker.addresses import DestinationPolicy
from worker.live_checks import LiveChecker, run_checks

PAGE = """<html><body><h1>{name}</h1><p>12 Orchard Lane, Springfield, IL 62701</p>
<p>Call <span class="tel">{phone}</span></p></body></html>"""


class ListingSite:
    """Listing pages by path, changeable while the test runs (a listing that appears later)."""

    def __init__(self) -> None:
        self.pages: dict[str, tuple[int, str]] = {}
        self.hits: list[str] = []
        self.lock = threading.Lock()
        self.app = FastAPI()
        self.app.add_api_route("/{path:path}", self._serve, methods=["GET"])

    async def _serve(self, path: str) -> Response:
        with self.lock:
            self.hits.append(path)
            status, html = self.pages.get(path, (404, "<h1>No such listing</h1>"))
        if status in (301, 302):
            return RedirectResponse(html, status_code=status)
        return HTMLResponse(html, status_code=status)

    def put(self, path: str, status: int, html: str) -> None:
        with self.lock:
            self.pages[path] = (status, html)


@pytest.fixture
def site() -> Iterator[tuple[ListingSite, str]]:
    listing_site = ListingSite()
    with AppServer(listing_site.app, "the listing site") as server:
        yield listing_site, server.url


def _checker(url: str) -> LiveChecker:
    host_port = url.removeprefix("http://")
    return LiveChecker(DestinationPolicy(frozenset({host_port})), timeout_seconds=5)


def _submit(
    conn: psycopg.Connection[Any],
    queries: Queries,
    job: dict[str, Any],
    directory_id: str,
    listing_url: str | None,
) -> None:
    # Straight through the queue's SQL (as the orchestrator's attempts route calls it).
    row = report(
        conn,
        queries,
        {"id": job["job_id"], "lease_token": job["lease_token"]},
        directory_id,
        listing_url=listing_url,
    )
    assert row is not None
    assert row["status"] == "submitted"


def _statuses(conn: psycopg.Connection[Any], job_id: Any) -> dict[str, str]:
    rows = conn.execute(
        "select directory_id, status::text from job_directories where job_id = %s", (job_id,)
    ).fetchall()
    return dict(rows)


def _checks(conn: psycopg.Connection[Any], job_id: Any) -> list[tuple[Any, ...]]:
    return conn.execute(
        "select directory_id, seq, result, mismatched_fields from listing_checks"
        " where job_id = %s and checked_at is not null order by directory_id, seq",
        (job_id,),
    ).fetchall()


def test_listings_are_checked_live_with_a_wrong_phone_caught_and_a_late_one_found(
    db_url: str, conn: psycopg.Connection[Any], queries: Queries, site: tuple[ListingSite, str]
) -> None:
    listing_site, site_url = site
    directories = enable_test_directories(conn, 3)
    conn.execute("update tiers set directory_limit = 3 where name = 'starter'")
    job_id = create_job(conn, queries)
    listing_site.put("live", 200, PAGE.format(name="Bluebird Bakery", phone="(217) 555-0123"))
    listing_site.put("wrong", 200, PAGE.format(name="Bluebird Bakery", phone="(217) 555-9876"))
    # "later" answers 404 until the directory's moderation lets it through.

    app = build(db_url, live_check_delays="1s,3s,6s", live_check_lease_seconds=30)
    with serve(app) as orchestrator_url, httpx.Client(base_url=orchestrator_url) as api:
        wait_for(
            lambda: (
                conn.execute("select cardinality(delays) from private.live_check_policy").fetchone()
                == (3,)
            )
        )
        job = api.post("/jobs-next", json={"worker_id": "w-jobs"}, headers=WORKER).json()
        for directory_id, path in zip(directories, ["live", "wrong", "later"], strict=True):
            _submit(conn, queries, job, directory_id, f"{site_url}/{path}")
        live, wrong, later = directories

        async def check_until(predicate: Any) -> None:
            client = OrchestratorClient.connect(orchestrator_url, WORKER_TOKEN, "w-live")
            checker = _checker(site_url)
            deadline = time.monotonic() + 15
            try:
                while not predicate():
                    assert time.monotonic() < deadline, _checks(conn, job_id)
                    if not await run_checks(client, checker, "w-live", 10):
                        await asyncio.sleep(0.2)
            finally:
                await client.aclose()

        asyncio.run(check_until(lambda: len(_checks(conn, job_id)) >= 3))
        assert _checks(conn, job_id) == [
            (live, 1, "live", []),
            (wrong, 1, "live_mismatch", ["phone"]),
            (later, 1, "not_found", []),
        ]
        assert _statuses(conn, job_id) == {
            live: "live",
            wrong: "live_mismatch",
            later: "submitted",
        }, "a not-found before the last check changes nothing"

        listing_site.put("later", 200, PAGE.format(name="Bluebird Bakery", phone="217.555.0123"))
        asyncio.run(check_until(lambda: _statuses(conn, job_id)[later] == "live"))
        assert (later, 2, "live", []) in _checks(conn, job_id)

        # The job completes; the checks go on on the rest of the schedule.
        done = api.post(
            f"/jobs/{job['job_id']}/complete",
            json={"lease_token": job["lease_token"]},
            headers=WORKER,
        )
        assert done.status_code == 200, done.text
        listing_site.put("live", 404, "<h1>Gone</h1>")
        asyncio.run(check_until(lambda: _statuses(conn, job_id)[live] == "not_live"))

    audit = conn.execute(
        "select actor, directory_id, from_status, to_status from audit_log"
        " where job_id = %s and action = 'listing_check.reported' and from_status <> to_status"
        " order by id",
        (job_id,),
    ).fetchall()
    assert audit == [
        ("worker:w-live", live, "submitted", "live"),
        ("worker:w-live", wrong, "submitted", "live_mismatch"),
        ("worker:w-live", later, "submitted", "live"),
        ("worker:w-live", live, "live", "not_live"),
    ]
    # Found not live after completion: owed back (a paid order without a PaymentIntent is
    # written for staff to refund by hand).
    owed = conn.execute(
        "select shortfall from shortfall_refunds where job_id = %s", (job_id,)
    ).fetchall()
    assert owed == [(1,)]


def test_the_api_refuses_what_it_must(
    api: TestClient, conn: psycopg.Connection[Any], queries: Queries
) -> None:
    enable_test_directories(conn, 1)
    job_id = create_job(conn, queries)
    job = api.post("/jobs-next", json={"worker_id": "w-jobs"}, headers=WORKER).json()
    _submit(conn, queries, job, "test-dir-01", "http://127.0.0.1:9/listing")
    conn.execute("update listing_checks set due_at = now() where job_id = %s", (job_id,))

    assert api.post("/live-checks/next", json={"worker_id": "w"}).status_code == 401
    claimed = api.post("/live-checks/next", json={"worker_id": "w-1", "limit": 5}, headers=WORKER)
    assert claimed.status_code == 200, claimed.text
    [task] = claimed.json()
    assert task["business"]["business_name"] == "Bluebird Bakery"
    assert (task["seq"], task["last"], task["recipe"]) == (1, False, None)
    assert api.post("/live-checks/next", json={"worker_id": "w-2"}, headers=WORKER).json() == []

    mismatch_without_fields = {"lease_token": task["lease_token"], "result": "live_mismatch"}
    refused = api.post(
        f"/live-checks/{task['check_id']}", json=mismatch_without_fields, headers=WORKER
    )
    assert refused.status_code == 422
    assert "mismatched_fields" in refused.json()["detail"]
    unknown = api.post(
        "/live-checks/99999999",
        json={"lease_token": str(uuid.uuid4()), "result": "live"},
        headers=WORKER,
    )
    assert unknown.status_code == 404

    # The lease runs out; another worker takes the check; the first one's report is refused.
    conn.execute(
        "update listing_checks set lease_expires_at = now() - interval '1 second' where id = %s",
        (task["check_id"],),
    )
    [again] = api.post("/live-checks/next", json={"worker_id": "w-2"}, headers=WORKER).json()
    stale = api.post(
        f"/live-checks/{task['check_id']}",
        json={"lease_token": task["lease_token"], "result": "live", "nap_score": 1},
        headers=WORKER,
    )
    assert stale.status_code == 409
    assert stale.json()["error"] == "lease_lost"
    path = f"/live-checks/{again['check_id']}"
    live = {"lease_token": again["lease_token"], "result": "live", "nap_score": 1}
    assert api.post(path, json=live, headers=WORKER).status_code == 204
    assert api.post(path, json=live, headers=WORKER).status_code == 204, "a resend is fine"
    other = live | {"result": "not_found"}
    assert api.post(path, json=other, headers=WORKER).status_code == 409
    assert _statuses(conn, job_id) == {"test-dir-01": "live"}


def test_two_claimers_never_take_the_same_check(
    db_url: str, conn: psycopg.Connection[Any], queries: Queries
) -> None:
    enable_test_directories(conn, 2)
    job_id = create_job(conn, queries)
    job = queries.fetch_one(conn, "jobs_next_assignment", worker_id="w", lease_seconds=60)
    assert job is not None
    for directory_id in ("test-dir-01", "test-dir-02"):
        conn.execute(
            "update job_directories set status = 'submitted', submitted_at = now(),"
            " listing_url = %s where job_id = %s and directory_id = %s",
            (f"http://127.0.0.1:9/{directory_id}", job_id, directory_id),
        )
    conn.execute("update listing_checks set due_at = now() where job_id = %s", (job_id,))
    claim = "select check_id from listing_checks_claim(%s, %s, 60)"
    with psycopg.connect(db_url) as first, psycopg.connect(db_url) as second:
        # The first claim's transaction is still open, its rows locked.
        mine = first.execute(claim, ("w-a", 1)).fetchall()
        second.execute("set local lock_timeout = '2s'")
        theirs = second.execute(claim, ("w-b", 10)).fetchall()
        second.commit()
        first.commit()
    assert len(mine) == len(theirs) == 1
    assert mine != theirs


def test_a_listing_url_may_not_lead_to_the_workers_network(site: tuple[ListingSite, str]) -> None:
    listing_site, site_url = site
    port = site_url.rsplit(":", 1)[1]
    listing_site.put("hop", 302, f"http://localhost:{port}/inside")
    listing_site.put("inside", 200, PAGE.format(name="Bluebird Bakery", phone="(217) 555-0123"))
    task_fields: dict[str, Any] = {
        "check_id": 1,
        "lease_token": uuid.uuid4(),
        "job_id": uuid.uuid4(),
        "directory_id": "dir-a",
        "business": {"business_name": "Bluebird Bakery", "phone": "+12175550123", "country": "US"},
        "seq": 1,
        "last": False,
    }

    async def check(url: str, checker: LiveChecker) -> Any:
        return await checker.check(LiveCheckTask.model_validate(task_fields | {"listing_url": url}))

    nowhere = LiveChecker(DestinationPolicy(), timeout_seconds=5)
    direct = asyncio.run(check(f"{site_url}/inside", nowhere))
    assert direct.result is LiveCheckResult.error
    assert "loopback" in (direct.message or "")
    # Allowed host, but its redirect goes to another loopback name: blocked at the hop.
    redirected = asyncio.run(check(f"{site_url}/hop", _checker(site_url)))
    assert redirected.result is LiveCheckResult.error
    assert "loopback" in (redirected.message or "")
    assert "inside" not in listing_site.hits
