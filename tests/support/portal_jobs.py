"""Shared pieces for the job page / report tests (no tests of its own).

A customer's job driven through the real SQL queue functions as the service role (the way
the orchestrator drives them for a worker), the portal served by a real uvicorn server for
event streams and Chromium, and a small server-sent events reader.
"""

from __future__ import annotations

import json
import queue
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import psycopg
from fastapi import FastAPI
from psycopg.types.json import Jsonb

from dbolt.sql import Queries
from devstack.serving import AppServer
from portal.auth.cookies import ACCESS_COOKIE
from portal.jobs.live import TIMING_EXTRA, StreamTiming
from tests.support.portal_harness import Customer, PortalStack, portal_app
from tests.support.queue_helpers import enable_test_directories

QUERIES = Queries.load()
# Only Realtime can wake these streams quickly: the timer re-reads are minutes apart.
REALTIME_ONLY = StreamTiming(
    heartbeat_seconds=0.5, reread_seconds=300, live_reread_seconds=300, coalesce_seconds=0.05
)


@dataclass
class Job:
    """A customer's job and a stand-in worker driving it through the SQL queue functions."""

    db_url: str
    customer: Customer
    id: uuid.UUID
    directories: list[str]
    worker_id: str = "worker-test-1"
    lease: dict[str, Any] | None = None
    attempts: dict[str, int] = field(default_factory=dict)

    def _conn(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self.db_url, autocommit=True)

    def claim(self) -> None:
        with self._conn() as conn:
            claimed = QUERIES.fetch_one(
                conn, "jobs_next", worker_id=self.worker_id, lease_seconds=600
            )
        assert claimed is not None
        assert claimed["id"] == self.id, "another job was claimed first"
        self.lease = claimed

    def start(self, directory_id: str) -> None:
        assert self.lease is not None
        with self._conn() as conn:
            QUERIES.fetch_one(
                conn,
                "jobs_start_directory",
                job_id=self.id,
                lease_token=self.lease["lease_token"],
                directory_id=directory_id,
            )

    def report(self, directory_id: str, outcome: str = "success", **extra: Any) -> dict[str, Any]:
        """Report the directory's next attempt (jobs_report_attempt), as a worker would."""
        assert self.lease is not None
        attempt = self.attempts.get(directory_id, 0) + 1
        attempt_report: dict[str, Any] = {
            "directory_id": directory_id,
            "attempt": attempt,
            "outcome": outcome,
            "confirmed": outcome == "success",
            "duration_ms": 900,
            **extra,
        }
        with self._conn() as conn:
            row = QUERIES.fetch_one(
                conn,
                "jobs_report_attempt",
                job_id=self.id,
                lease_token=self.lease["lease_token"],
                report=Jsonb(attempt_report),
            )
        self.attempts[directory_id] = attempt
        assert row is not None
        return row

    def complete(self) -> None:
        assert self.lease is not None
        with self._conn() as conn:
            QUERIES.fetch_one(
                conn, "jobs_complete", job_id=self.id, lease_token=self.lease["lease_token"]
            )
        self.lease = None

    def sql(self, statement: str, *params: Any) -> list[tuple[Any, ...]]:
        with self._conn() as conn:
            cursor = conn.execute(statement, params)
            return cursor.fetchall() if cursor.description else []

    def directory_rows(self) -> list[dict[str, Any]]:
        with self._conn() as conn, conn.cursor(row_factory=psycopg.rows.dict_row) as cursor:
            cursor.execute(
                "select d.*, dir.name from job_directories d join directories dir"
                " on dir.id = d.directory_id where d.job_id = %s order by d.position",
                (self.id,),
            )
            return cursor.fetchall()

    def report_row(self) -> dict[str, Any]:
        with self._conn() as conn, conn.cursor(row_factory=psycopg.rows.dict_row) as cursor:
            cursor.execute("select * from job_reports where job_id = %s", (self.id,))
            row = cursor.fetchone()
        assert row is not None
        return row


def make_job(stack: PortalStack, email: str, directories: int = 4) -> Job:
    """A paid customer whose business is complete, and their job with `directories` enabled."""
    customer = stack.customer(email)
    with psycopg.connect(stack.db_url, autocommit=True) as conn:
        ids = enable_test_directories(conn, directories)
        job = QUERIES.fetch_one(conn, "jobs_enqueue", order_id=customer.order_id)
    assert job is not None
    return Job(db_url=stack.db_url, customer=customer, id=job["id"], directories=ids)


def finished_job(stack: PortalStack, email: str) -> Job:
    """A completed job with one of each interesting outcome, a retry and a listing URL."""
    job = make_job(stack, email, directories=5)
    first, second, third, fourth, fifth = job.directories
    job.claim()
    job.report(first, listing_url="https://listings.example/acme-1", message="Thanks!")
    job.report(second, "transient_error", error_code="timeout", message="Timed out after 30 s")
    job.report(second, listing_url="https://listings.example/acme-2")
    job.report(third, "needs_action", action_required="Click the link the directory emailed you")
    job.report(fourth, "permanent_error", error_code="duplicate_listing", message="Already listed")
    job.report(fifth, "success", confirmed=False, message="No confirmation shown")
    job.complete()
    return job


@contextmanager
def served_portal(
    stack: PortalStack, timing: StreamTiming | None = None, **overrides: Any
) -> Iterator[tuple[str, FastAPI]]:
    """The portal on a real loopback port (for event streams and Chromium)."""
    app = portal_app(stack.db_url, stack.supabase.url, **overrides)
    if timing is not None:
        app.state.portal.extras[TIMING_EXTRA] = timing
    with AppServer(app, "the portal") as server:
        yield server.url, app


class EventStream:
    """Reads a server-sent event stream in a thread; events and comments arrive in queues."""

    def __init__(self, url: str, access_token: str) -> None:
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.comments: queue.Queue[str] = queue.Queue()
        self.status: int | None = None
        self.headers: httpx.Headers | None = None
        self.ended = threading.Event()
        self._closing = threading.Event()
        self._client = httpx.Client(
            cookies={ACCESS_COOKIE: access_token}, timeout=httpx.Timeout(10.0, read=60.0)
        )
        self._thread = threading.Thread(target=self._run, args=(url,), daemon=True)
        self._thread.start()

    def _run(self, url: str) -> None:
        try:
            with self._client.stream(
                "GET", url, headers={"accept": "text/event-stream"}
            ) as response:
                self.status = response.status_code
                self.headers = response.headers
                event: dict[str, Any] = {}
                for line in response.iter_lines():
                    if self._closing.is_set():
                        break
                    if line == "":
                        if event:
                            self.events.put(event)
                        event = {}
                    elif line.startswith(":"):
                        self.comments.put(line)
                    else:
                        name, _, value = line.partition(":")
                        value = value.removeprefix(" ")
                        event[name] = json.loads(value) if name == "data" else value
        except httpx.HTTPError:
            pass
        finally:
            self.ended.set()

    def next(self, event: str = "state", timeout: float = 15.0) -> dict[str, Any]:
        """The next event named `event` (others are skipped)."""
        while True:
            item = self.events.get(timeout=timeout)
            if item.get("event") == event:
                return item

    def close(self) -> None:
        # The reader notices at the next line (tests keep heartbeats short), then hangs up.
        self._closing.set()
        self._thread.join(timeout=15)
        self._client.close()

    def __enter__(self) -> EventStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def refund_shortfall(job: Job, stripe_refund_id: str) -> None:
    """Settle the completed job's shortfall refund as the refunder does once Stripe answers
    (webhook/refunder.py): claimed, then marked refunded in full."""
    with job._conn() as conn:
        for due in QUERIES.fetch_all(
            conn, "shortfall_refunds_claim_due", batch_size=10, lease_seconds=60
        ):
            if due["job_id"] == job.id:
                QUERIES.fetch_one(
                    conn,
                    "shortfall_refunds_settle_refunded",
                    id=due["id"],
                    claim_token=due["claim_token"],
                    stripe_refund_id=stripe_refund_id,
                    amount=due["amount"],
                )
