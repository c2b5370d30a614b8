"""A verification mail and the park of its directory at the same moment, on two real
connections: whichever commits second sees the first (the customer's mailbox lock), so the
mail is never left unmatched with its directory waiting for a deadline."""

from __future__ import annotations

import threading
from typing import Any

import psycopg
from psycopg.rows import dict_row

from dbolt.directories import sync_directories
from dbolt.sql import Queries
from tests.support.queue_helpers import create_job

DIRECTORY = {
    "id": "race-dir",
    "name": "Race Directory",
    "homepage": "https://race.example/",
    "tier": "starter",
    "priority": 1,
    "mode": "auto",
    "enabled": True,
}
PARKED = (
    '{"directory_id": "race-dir", "attempt": 1, "outcome": "parked", "wait_kind": "email",'
    ' "wait_seconds": 3600, "resume_phase": "verify_email"}'
)


def _receive(db_url: str, local_part: str, out: dict[str, Any]) -> None:
    with psycopg.connect(db_url, autocommit=True, row_factory=dict_row) as conn:
        row = Queries.load().fetch_one(
            conn,
            "inbound_emails_receive",
            provider="mailgun",
            provider_message_id="<race@race.example>",
            recipient_local_part=local_part,
            sender="no-reply@race.example",
            subject="Confirm your email",
            body_text="https://race.example/verify?t=1",
            body_html="",
            token=None,
            sender_authenticated=True,
        )
        assert row is not None
        out.update(row["result"])


def test_a_mail_arriving_while_its_directory_parks_wakes_it(
    db_url: str, conn: psycopg.Connection[Any], queries: Queries
) -> None:
    sync_directories(conn, [DIRECTORY])
    job_id = create_job(conn, queries)
    local_part = conn.execute(
        "select m.local_part from customer_mailboxes m join jobs j on j.customer_id = m.customer_id"
        " where j.id = %s",
        (job_id,),
    ).fetchone()[0]  # type: ignore[index]
    token = conn.execute("select lease_token from jobs_next('worker-race', 300)").fetchone()[0]  # type: ignore[index]
    conn.execute("select jobs_start_directory(%s, %s, 'race-dir')", (job_id, token))

    received: dict[str, Any] = {}
    with psycopg.connect(db_url) as parking:
        # The park's transaction holds the mailbox lock until it commits...
        parking.execute("select jobs_report_attempt(%s, %s, %s::jsonb)", (job_id, token, PARKED))
        mail = threading.Thread(target=_receive, args=(db_url, local_part, received))
        mail.start()
        mail.join(timeout=1.5)
        assert mail.is_alive(), "the mail waited for the park to commit"
        parking.commit()
    mail.join(timeout=30)
    assert not mail.is_alive()
    # ...and the mail, stored after it, found the waiting directory.
    assert received["matched"] is True
    assert received["directory_id"] == "race-dir"
    row = conn.execute(
        "select wake_mail_id from job_directories where job_id = %s and directory_id = 'race-dir'",
        (job_id,),
    ).fetchone()
    assert row is not None
    assert row[0] == received["id"]
