"""A Stripe refund event for an order whose job is completing at that very moment: the event
waits for the completion and both go through (the order refunded, the job complete), instead
of a deadlock aborting one of them. Two real transactions on a real Postgres."""

from __future__ import annotations

import threading
import time
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from dbolt.sql import Queries
from tests.support.queue_helpers import create_job, enable_test_directories, report

INTENT = "pi_completing_1"


def _refund_event() -> dict[str, Any]:
    return {
        "id": "evt_refund_while_completing",
        "object": "event",
        "type": "charge.refunded",
        "data": {
            "object": {
                "id": "ch_refund_while_completing",
                "object": "charge",
                "payment_intent": INTENT,
                "amount": 14900,
                "refunded": True,
                "amount_refunded": 14900,
            }
        },
    }


def _waiting_on_a_lock(conn: psycopg.Connection[Any], pid: int) -> bool:
    row = conn.execute(
        "select wait_event_type from pg_stat_activity where pid = %s", (pid,)
    ).fetchone()
    return row is not None and row[0] == "Lock"


def test_a_refund_event_waits_for_a_completing_job_without_deadlock(
    db_url: str, conn: psycopg.Connection[Any], queries: Queries
) -> None:
    directories = enable_test_directories(conn, 2)
    job_id = create_job(conn, queries)
    conn.execute(
        "update orders set stripe_payment_intent_id = %s, amount_total = 14900"
        " where id = (select order_id from jobs where id = %s)",
        (INTENT, job_id),
    )
    job = queries.fetch_one(conn, "jobs_next", worker_id="w1", lease_seconds=300)
    assert job is not None
    for directory in directories:
        report(conn, queries, job, directory)

    with psycopg.connect(db_url) as completing, psycopg.connect(db_url, autocommit=True) as webhook:
        # The completion has begun: it holds the job.
        completing.execute("select id from jobs where id = %s for update", (job_id,))
        webhook_pid = webhook.info.backend_pid
        answer: dict[str, Any] = {}

        def apply_event() -> None:
            try:
                row = webhook.execute(
                    "select stripe_events_apply(%s, true)", (Jsonb(_refund_event()),)
                ).fetchone()
                answer["result"] = row[0] if row else None
            except psycopg.Error as error:
                answer["error"] = error

        thread = threading.Thread(target=apply_event)
        thread.start()
        deadline = time.monotonic() + 10
        while not _waiting_on_a_lock(conn, webhook_pid):
            assert time.monotonic() < deadline, "the event never waited for the job"
            time.sleep(0.05)

        # The completion goes on: its email and shortfall rows reference the order the event
        # has locked, and must not wait for it.
        completing.execute("select jobs_complete(%s, %s)", (job_id, job["lease_token"]))
        completing.commit()
        thread.join(timeout=20)
        assert not thread.is_alive()

    assert "error" not in answer, answer.get("error")
    assert answer["result"]["outcome"] == "order_refunded"
    assert answer["result"]["job"] == "job_complete"
    assert conn.execute("select status::text from jobs where id = %s", (job_id,)).fetchone() == (
        "complete",
    )
