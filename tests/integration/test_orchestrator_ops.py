"""/metrics (Prometheus, checked by promtool), /healthz, the autoscaling signal, and graceful
degradation when captchas or proxies fail."""

from __future__ import annotations

import email
import email.policy
import shutil
import subprocess
from typing import Any

import psycopg
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import Envelope, Session
from fastapi.testclient import TestClient
from pydantic import SecretStr

from dbolt.sql import Queries
from orchestrator.autoscale import desired_workers
from tests.support.orchestrator_harness import STAFF, WORKER, build, wait_for
from tests.support.ports import free_port
from tests.support.queue_helpers import create_job, enable_test_directories


def test_metrics_are_prometheus_text_that_promtool_accepts(
    api: TestClient, conn: psycopg.Connection[Any], queries: Queries
) -> None:
    enable_test_directories(conn, 1)
    create_job(conn, queries)
    api.post("/jobs-next", json={"worker_id": "w1"}, headers=WORKER)

    def refreshed() -> str | None:
        text = api.get("/metrics").text
        return text if 'directorybolt_queue_depth{status="in_progress"} 1.0' in text else None

    text = wait_for(refreshed)
    names = {
        line.split("{")[0].split(" ")[0]
        for line in text.splitlines()
        if line and not line.startswith("#")
    }
    assert names, text
    assert all(name.startswith("directorybolt_") for name in names), names
    for expected in [
        'directorybolt_queue_depth{status="in_progress"} 1.0',
        "directorybolt_active_workers 1.0",
        "directorybolt_jobs_completed_total 0.0",
        "directorybolt_dispatch_paused 0.0",
        "directorybolt_desired_workers",
        "directorybolt_jobs_next_duration_seconds_count 1.0",
        'directorybolt_directory_attempts_total{outcome="success"} 0.0',
        # What the failure-rate alert divides by (deploy/prometheus/alerts.yml).
        'directorybolt_directory_attempts_finished_total{result="failed"} 0.0',
        'directorybolt_directory_attempts_finished_total{result="succeeded"} 0.0',
        "directorybolt_captchas_failed_total",
        "directorybolt_proxy_rotation_failures_total",
        "directorybolt_retries_total",
        "directorybolt_attempt_report_duration_seconds_bucket",
    ]:
        assert expected in text, expected
    promtool = shutil.which("promtool")
    assert promtool, "promtool missing: `make deps` installs Debian's prometheus package"
    checked = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_healthz_reports_queue_workers_and_dispatch(
    api: TestClient, conn: psycopg.Connection[Any], queries: Queries
) -> None:
    enable_test_directories(conn, 1)
    create_job(conn, queries)

    def pending_seen() -> dict[str, Any] | None:
        body: dict[str, Any] = api.get("/healthz").json()
        return body if body["queue"]["depth"].get("pending") == 1 else None

    body = wait_for(pending_seen)
    assert body["status"] == "ok"
    assert body["database"]["reachable"] is True
    assert body["queue"]["depth"]["pending"] == 1
    assert body["dispatch"] == {"paused": False, "reason": None, "throttled_tiers": []}
    assert body["uptime_seconds"] >= 0
    api.post("/jobs-next", json={"worker_id": "w1"}, headers=WORKER)
    healthy = wait_for(lambda: api.get("/healthz").json()["workers"]["healthy"] == 1)
    assert healthy


@pytest.mark.parametrize(
    ("stats", "expected"),
    [
        ({"jobs": {"pending": 0, "in_progress": 0}}, 1),
        # No throughput observed yet: 30 jobs at the default 4 jobs/worker-hour over 1 hour.
        ({"jobs": {"pending": 28, "in_progress": 2}}, 8),
        # 3 workers completed 30 jobs in the last hour: 10 each; 45 waiting → 5 workers.
        ({"jobs": {"pending": 45}, "active_workers": 3, "completed_last_hour": 30}, 5),
        ({"jobs": {"pending": 10_000}}, 20),
        # Waiting jobs hold no worker (parked directories wait for mail or a time): not work.
        ({"jobs": {"pending": 0, "in_progress": 0, "waiting": 500}}, 1),
        ({"jobs": {"pending": 28, "in_progress": 2, "waiting": 500}}, 8),
    ],
)
def test_desired_workers_formula(stats: dict[str, Any], expected: int) -> None:
    assert (
        desired_workers(
            stats,
            min_workers=1,
            max_workers=20,
            target_drain_minutes=60,
            default_jobs_per_worker_hour=4,
        )
        == expected
    )


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, email.message.EmailMessage)
        self.messages.append(message)
        return "250 OK"


def _attempts(
    api: TestClient, job: dict[str, Any], directory_id: str, solved: list[bool], start: int
) -> None:
    for offset, ok in enumerate(solved):
        response = api.post(
            f"/jobs/{job['job_id']}/attempts",
            json={
                "lease_token": job["lease_token"],
                "directory_id": directory_id,
                "attempt": start + offset,
                "outcome": "transient_error" if not ok else "needs_action",
                "error_code": None if ok else "captcha_unsolved",
                "action_required": "confirm the email" if ok else None,
                "captcha_kind": "image",
                "captcha_solved": ok,
            },
            headers=WORKER,
        )
        assert response.status_code == 200, response.text


def test_failing_captchas_raise_an_alert_throttle_enterprise_and_recover(
    db_url: str, conn: psycopg.Connection[Any], queries: Queries
) -> None:
    directories = enable_test_directories(conn, 8)
    conn.execute("update job_directories set max_attempts = 10")
    create_job(conn, queries)
    conn.execute("update job_directories set max_attempts = 10")
    inbox = _Inbox()
    port = free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=port)
    smtp.start()
    try:
        app = build(
            db_url,
            staff_alert_email="ops@example.com",
            smtp_url=SecretStr(f"smtp://127.0.0.1:{port}"),
            degradation_min_samples=5,
            captcha_failure_threshold=0.5,
        )
        with TestClient(app) as api:
            job = api.post("/jobs-next", json={"worker_id": "w1"}, headers=WORKER).json()
            # 6 unsolved captchas on one directory: over the 50 % threshold.
            _attempts(api, job, directories[0], [False] * 6, start=1)

            def degraded() -> dict[str, Any] | None:
                health: dict[str, Any] = api.get("/healthz").json()
                # The throttle shows in the next stats round after the verdict.
                throttled = health["dispatch"]["throttled_tiers"]
                return health if health["degraded_providers"] and throttled else None

            health = wait_for(degraded)
            assert health["degraded_providers"] == ["captcha"]
            assert health["dispatch"]["throttled_tiers"] == ["enterprise"]
            assert conn.execute(
                "select effective_max_running from tiers where name = 'enterprise'"
            ).fetchone() == (1,)
            alert = conn.execute(
                "select kind, message from alerts where cleared_at is null"
            ).fetchone()
            assert alert is not None
            assert alert[0] == "captcha_provider_down"
            assert "6 of the last 6 attempts failed" in alert[1]
            assert (
                'directorybolt_provider_degraded{provider="captcha"} 1.0'
                in api.get("/metrics").text
            )
            wait_for(lambda: inbox.messages)
            assert inbox.messages[0]["To"] == "ops@example.com"
            assert "Captcha solving is failing" in inbox.messages[0]["Subject"]

            # The provider recovers: solved captchas bring the failure rate under the threshold.
            for directory_id in directories[1:]:
                _attempts(api, job, directory_id, [True], start=1)
            wait_for(lambda: api.get("/healthz").json()["degraded_providers"] == [])
            assert conn.execute(
                "select throttled_max_running from tiers where name = 'enterprise'"
            ).fetchone() == (None,)
            assert conn.execute(
                "select count(*) from alerts where cleared_at is null"
            ).fetchone() == (0,)
            assert (
                'directorybolt_provider_degraded{provider="captcha"} 0.0'
                in api.get("/metrics").text
            )
            actions = conn.execute(
                "select action from audit_log"
                " where action like 'alert.%%' or action like 'tier.%%' order by id"
            ).fetchall()
            assert actions == [
                ("alert.raised",),
                ("tier.throttled",),
                ("alert.cleared",),
                ("tier.unthrottled",),
            ]
            assert len(inbox.messages) == 1, "one email per alert, not one per evaluation"
    finally:
        smtp.stop()
    assert STAFF  # the staff key is not needed to see alerts in /healthz


def test_the_stats_loop_folds_the_counter_shards_of_gone_backends(
    api: TestClient, conn: psycopg.Connection[Any]
) -> None:
    """Migration 20261208000140: the refresh loop calls metrics_counters_fold(), so a shard
    no backend has (a pid beyond pid_max) moves into shard 0 without the test calling it."""
    conn.execute(
        "insert into private.metrics_counters (name, shard, value)"
        " values ('retries', 999999993, 4), ('retries', 0, -4)"
        " on conflict (name, shard) do update set value = private.metrics_counters.value"
        " + excluded.value"
    )

    def folded() -> bool:
        row = conn.execute(
            "select count(*) from private.metrics_counters where shard = 999999993"
        ).fetchone()
        return row == (0,)

    wait_for(folded)
    # The refresh that folded may not have stored what it read yet: wait for a snapshot.
    wait_for(lambda: "directorybolt_retries_total 0.0" in api.get("/metrics").text)


def test_stuck_emails_and_rejected_stripe_events_are_metrics(
    api: TestClient, conn: psycopg.Connection[Any]
) -> None:
    # A paid order queues its payment email (trigger); give one up as dead, leave one waiting.
    conn.execute("select dev.create_paid_order('dead@example.com', 'starter')")
    conn.execute("select dev.create_paid_order('waiting@example.com', 'starter')")
    conn.execute(
        "update notifications set dead_at = now(), last_error = 'smtp refused', attempts = 5"
        " where recipient = 'dead@example.com'"
    )
    conn.execute(
        "update notifications set created_at = now() - interval '20 minutes'"
        " where recipient = 'waiting@example.com'"
    )
    conn.execute(
        "insert into stripe_events (id, type, payload, error)"
        " values ('evt_rejected_1', 'checkout.session.completed', '{}', 'no tier')"
    )

    # The stats loop refreshes every 0.2 s, maybe between the writes above: wait for a
    # refresh that saw all of them.
    def refreshed() -> str | None:
        text = api.get("/metrics").text
        seen = ("directorybolt_emails_dead 1.0", "directorybolt_stripe_events_rejected 1.0")
        return text if all(line in text for line in seen) else None

    text = wait_for(refreshed)
    assert "directorybolt_emails_unsent 1.0" in text
    age = next(
        float(line.split()[1])
        for line in text.splitlines()
        if line.startswith("directorybolt_oldest_unsent_email_seconds ")
    )
    # About 20 minutes: the refresh's transaction (whose now() the age is taken from) may have
    # begun a moment before the test backdated the row.
    assert age == pytest.approx(20 * 60, abs=60)
