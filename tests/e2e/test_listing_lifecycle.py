"""The real listing lifecycle end to end, with real processes: orchestrator, worker (Chromium),
the sandbox's lifecycle directories, the mail catcher forwarding to the inbound-mail webhook
in Mailgun's signed format, and the database.

One starter job over the six lifecycle directories, for the sample business (Bluebird Bakery):
- lifecycle-listed already lists it with the same name, address and phone: already_listed with
  the listing's URL, nothing created there;
- lifecycle-claim lists it with another phone: sign-up, email verification, claim;
- lifecycle-verify: sign-up, the verification email (over SMTP, through the webhook) opened by
  the worker itself, login, one listing created;
- lifecycle-moderated: the same, then a moderation delay: parked, resumed, live;
- lifecycle-wrong-phone: listed, but the site shows a wrong phone: live_mismatch naming it;
- lifecycle-no-mail: the verification email never comes: one re-sign-up, then an action in
  plain words saying what was sent where.
Live checks run on a seconds-long schedule. Waits measured in hours (an email's deadline, a
moderation delay) are brought forward by moving `wait_until` to now, as the clock would.
While anything waits, the job holds no lease and no worker."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.rows import dict_row

from dbolt.directory_accounts import open_password
from dbolt.settings import LOCAL_MAILBOX_DOMAIN, VaultSettingsMixin
from dbolt.sql import Queries
from tests.support.e2e_stack import Stack, running_stack, wait_until
from tests.support.queue_helpers import create_job
from tests.support.sample_business import as_a_directory_lists_it

pytestmark = pytest.mark.slow

LIFECYCLE = {
    "lifecycle-listed",
    "lifecycle-claim",
    "lifecycle-verify",
    "lifecycle-moderated",
    "lifecycle-wrong-phone",
    "lifecycle-no-mail",
}
# The sample business (supabase/seed.sql) as a directory shows it.
SHOWN = as_a_directory_lists_it()
SETTLED = {"already_listed", "live", "live_mismatch", "needs_action", "not_live", "failed"}
EXPECTED = {
    "lifecycle-listed": "live",
    "lifecycle-claim": "live",
    "lifecycle-verify": "live",
    "lifecycle-moderated": "live",
    "lifecycle-wrong-phone": "live_mismatch",
    "lifecycle-no-mail": "needs_action",
}


def _rows(stack: Stack, sql: str, *params: Any) -> list[dict[str, Any]]:
    with psycopg.connect(stack.db_url, autocommit=True, row_factory=dict_row) as conn:
        return conn.execute(sql, params).fetchall()


def _directories(stack: Stack, job_id: str) -> dict[str, dict[str, Any]]:
    rows = _rows(
        stack,
        "select directory_id, status::text, phase, wait_kind, listing_url, action_required,"
        " last_error_code, last_message from job_directories where job_id = %s",
        job_id,
    )
    return {row["directory_id"]: row for row in rows}


def _bring_waits_forward(stack: Stack, job_id: str) -> int:
    """What the clock would do: every moderation delay, and the email wait of the site that
    never sends its mail, are over now (the orchestrator's waker does the rest). The other
    email waits are left alone: their mail arrives by itself."""
    with psycopg.connect(stack.db_url, autocommit=True) as conn:
        moved = conn.execute(
            "update job_directories set wait_until = now() - interval '1 second'"
            " where job_id = %s and status = 'waiting'"
            " and (wait_kind = 'moderation' or directory_id = 'lifecycle-no-mail')",
            (job_id,),
        ).rowcount
        conn.execute(
            "update jobs set wake_at = now() - interval '1 second'"
            " where id = %s and status = 'waiting'",
            (job_id,),
        )
        return moved


def test_a_job_over_the_lifecycle_directories_needs_no_human(db_url: str, tmp_path: Path) -> None:
    with running_stack(
        db_url,
        tmp_path,
        mail=True,
        webhook=True,
        orchestrator_env={
            "LIVE_CHECK_DELAYS": "2s,5s,10s",
            "LIVE_CHECK_POLICY_SECONDS": "1",
            "WAKE_INTERVAL_SECONDS": "0.5",
        },
        sandbox_env={"SANDBOX_MODERATION_SECONDS": "3"},
    ) as stack:
        stack.sync_sandbox_directories(only=LIFECYCLE)
        sandbox = httpx.Client(base_url=stack.url("sandbox"), timeout=10)
        sandbox.post(
            "/_admin/lifecycle/listings", json={"site": "lifecycle-listed", "fields": SHOWN}
        ).raise_for_status()
        other_phone = SHOWN | {"phone": "(217) 555-0999"}
        sandbox.post(
            "/_admin/lifecycle/listings", json={"site": "lifecycle-claim", "fields": other_phone}
        ).raise_for_status()
        stack.start_worker("worker-a", LIVE_CHECK_INTERVAL_SECONDS="1", CONTEXTS="2")
        started = time.monotonic()
        with psycopg.connect(stack.db_url, autocommit=True) as conn:
            job_id = str(create_job(conn, Queries.load(), tier="starter"))

        # While everything left waits, the job holds no lease and no worker.
        waiting = wait_until(
            lambda: _rows(
                stack,
                "select status::text, lease_token, worker_id, wake_at from jobs"
                " where id = %s and status = 'waiting'",
                job_id,
            ),
            timeout=180,
            what="the job waiting",
        )[0]
        assert waiting["lease_token"] is None
        assert waiting["worker_id"] is None
        assert waiting["wake_at"] is not None
        running = _rows(stack, "select running from tiers where name = 'starter'")[0]
        assert running["running"] == 0

        # Emails are handled by the worker itself; moderation and a mail that never comes
        # are brought forward until every directory has settled and been checked.
        def settled() -> dict[str, dict[str, Any]] | None:
            _bring_waits_forward(stack, job_id)
            rows = _directories(stack, job_id)
            done = {d: r["status"] for d, r in rows.items() if d in EXPECTED}
            return rows if done == EXPECTED else None

        final = wait_until(settled, timeout=300, what=f"every directory as {EXPECTED}")
        elapsed = time.monotonic() - started
        print(f"payment to every listing checked: {elapsed:.1f} s")

        # Already listed: its URL, no submission, no account needed there.
        listed = final["lifecycle-listed"]
        assert "/lifecycle-listed/listing/" in listed["listing_url"]
        record = sandbox.get("/_admin/lifecycle").json()
        created = [x for x in record["listings"] if not x["seeded"]]
        assert sorted(x["site"] for x in created) == [
            "lifecycle-moderated",
            "lifecycle-verify",
            "lifecycle-wrong-phone",
        ], "one listing created on each site that needed one, and nowhere else"
        claimed = [x for x in record["listings"] if x["claimed_by"]]
        assert [x["site"] for x in claimed] == ["lifecycle-claim"]
        assert claimed[0]["fields"]["phone"] != other_phone["phone"]

        mailbox = _rows(
            stack,
            "select m.local_part from customer_mailboxes m join jobs j"
            " on j.customer_id = m.customer_id where j.id = %s",
            job_id,
        )[0]["local_part"]
        address = f"{mailbox}@{LOCAL_MAILBOX_DOMAIN}"
        accounts = {(a["site"], a["email"]): a["verified"] for a in record["accounts"]}
        for site in ("lifecycle-claim", "lifecycle-verify", "lifecycle-moderated"):
            assert accounts[(site, address)] is True, f"{site}: account verified by us"
        assert accounts[("lifecycle-no-mail", address)] is False

        # The wrong phone is named; the missing mail is a clear action, not a dead end.
        assert "phone" in (final["lifecycle-wrong-phone"]["last_message"] or "")
        action = final["lifecycle-no-mail"]["action_required"]
        name = _rows(stack, "select name from directories where id = 'lifecycle-no-mail'")[0]
        assert f"account at {name['name']} with the address {address}" in action
        assert "never arrived" in action

        # Every verification mail arrived through the signed webhook and was matched.
        mails = _rows(
            stack,
            "select directory_id from inbound_emails where job_id = %s order by id",
            job_id,
        )
        assert {"lifecycle-claim", "lifecycle-verify", "lifecycle-moderated"} <= {
            m["directory_id"] for m in mails
        }

        # Live checks made the calls: each delivered listing was checked at least once.
        checks = _rows(
            stack,
            "select directory_id, result from listing_checks"
            " where job_id = %s and checked_at is not null",
            job_id,
        )
        assert {c["directory_id"] for c in checks} >= set(EXPECTED) - {"lifecycle-no-mail"}

        # The job was given back while it waited and woken again (by its mail or the waker);
        # that it held no lease then is checked above, at the moment it was waiting.
        audit = _rows(stack, "select action from audit_log where job_id = %s order by id", job_id)
        actions = [a["action"] for a in audit]
        assert "job.woken" in actions

        # The account passwords appear in no log or artifact of ours.
        vault = VaultSettingsMixin().vault()
        sealed = _rows(
            stack,
            "select customer_id, directory_id, key_id, password_sealed from directory_accounts",
        )
        passwords = [
            open_password(
                vault, r["customer_id"], r["directory_id"], r["key_id"], r["password_sealed"]
            )
            for r in sealed
        ]
        assert len(passwords) >= 4
        ours = [p for p in tmp_path.glob("*.log") if p.name != "sandbox.log"]
        ours += [p for p in tmp_path.rglob("*") if p.is_file() and "artifacts" in p.parts]
        for path in ours:
            text = path.read_bytes().decode("utf-8", "replace")
            for password in passwords:
                assert password not in text, f"a directory password in {path.name}"
