"""End to end with real processes: orchestrator, Realtime stand-in, two workers driving real
Chromium, the sandbox directories, the 2Captcha stand-in, proxies and the real database."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from dbolt.sql import Queries
from tests.support.e2e_stack import Stack, job_audit, running_stack, wait_for_job, wait_until
from tests.support.queue_helpers import create_job

pytestmark = pytest.mark.slow

# What each sandbox directory must end as for the sample business (Bluebird Bakery):
# (status, attempts, error_code).
EXPECTED: dict[str, tuple[str, int, str | None]] = {
    "sandbox-plain": ("submitted", 1, None),
    "sandbox-multistep": ("submitted", 1, None),
    "sandbox-js-form": ("submitted", 1, None),
    "sandbox-iframe": ("submitted", 1, None),
    "sandbox-choices": ("submitted", 1, None),
    "sandbox-hours": ("submitted", 1, None),
    "sandbox-logo": ("submitted", 1, None),
    "sandbox-image-captcha": ("submitted", 1, None),
    "sandbox-recaptcha": ("submitted", 1, None),
    "sandbox-hcaptcha": ("submitted", 1, None),
    "sandbox-turnstile": ("submitted", 1, None),
    "sandbox-duplicate": ("failed", 1, "duplicate_listing"),
    "sandbox-down": ("failed", 1, "site_down"),
    "sandbox-refused": ("failed", 1, "site_down"),
    "sandbox-slow": ("failed", 3, "timeout"),
    "sandbox-flaky": ("submitted", 2, None),
    "sandbox-ratelimited": ("submitted", 1, None),
    "sandbox-email-verify": ("needs_action", 1, None),
    "sandbox-unconfirmed": ("needs_review", 1, None),
    "sandbox-form-gone": ("failed", 1, "form_gone"),
    "sandbox-drift": ("failed", 1, "recipe_drift"),
    "sandbox-auto-labels": ("submitted", 1, None),
    "sandbox-auto-placeholders": ("submitted", 1, None),
    "sandbox-auto-autocomplete": ("submitted", 1, None),
    "sandbox-strict": ("submitted", 1, None),
}


def _job(
    stack: Stack, tier: str = "professional", email: str = "owner@bluebird-bakery.example"
) -> str:
    with psycopg.connect(stack.db_url, autocommit=True) as conn:
        return str(create_job(conn, Queries.load(), tier=tier, email=email))


def _accepted_per_site(stack: Stack) -> Counter[str]:
    return Counter(s["site"] for s in stack.submissions())


def test_a_professional_job_over_every_sandbox_directory(db_url: str, tmp_path: Path) -> None:
    with running_stack(db_url, tmp_path) as stack:
        directories = stack.sync_sandbox_directories()
        assert {d["id"] for d in directories} == set(EXPECTED)
        stack.start_worker("worker-a")
        stack.start_worker("worker-b")
        job_id = _job(stack)
        detail = wait_for_job(stack, job_id, {"complete", "failed"})
        assert detail["job"]["status"] == "complete", stack.log("worker-a")[-3000:]

        got = {
            d["directory_id"]: (d["status"], d["attempts"], d["last_error_code"])
            for d in detail["directories"]
        }
        assert got == EXPECTED

        by_directory = {d["directory_id"]: d for d in detail["directories"]}
        assert by_directory["sandbox-plain"]["listing_url"].startswith(
            stack.url("sandbox") + "/plain/listing/"
        )
        # Our words for the customer; the site's own sentence is kept for staff.
        assert (
            "sent a confirmation email" in by_directory["sandbox-email-verify"]["action_required"]
        )
        attempts = detail["attempts"]
        assert len(attempts) == sum(expected[1] for expected in EXPECTED.values())
        captcha = {
            a["directory_id"]: (a["captcha_kind"], a["captcha_solved"])
            for a in attempts
            if a["captcha_kind"]
        }
        assert captcha == {
            "sandbox-image-captcha": ("image", True),
            "sandbox-recaptcha": ("recaptcha_v2", True),
            "sandbox-hcaptcha": ("hcaptcha", True),
            "sandbox-turnstile": ("turnstile", True),
        }
        # Every non-success keeps a screenshot and the page's HTML.
        for attempt in attempts:
            if (
                not (attempt["outcome"] == "success" and attempt["confirmed"])
                and attempt["error_code"] != "site_down"
            ):
                assert set(attempt["artifacts"]) == {"screenshot", "html"}, attempt
                assert Path(attempt["artifacts"]["screenshot"]).exists()
        # Proxies were really used: every attempt went through one, and their logs show it.
        assert all(a["proxy"] for a in attempts)
        proxy_logs = "".join(p.read_text() for p in (tmp_path / "proxies").glob("*.log"))
        assert "/ratelimited/submit" in proxy_logs

        # The sandbox received exactly one accepted submission per directory that took it.
        accepted = _accepted_per_site(stack)
        took_it = {
            k.removeprefix("sandbox-")
            for k, v in EXPECTED.items()
            if v[0] in ("submitted", "needs_action", "needs_review")
        }
        assert set(accepted) == took_it
        assert set(accepted.values()) == {1}
        # Both workers took part or at least ran; the job's audit names the workers.
        assert {a["actor"] for a in detail["audit"] if a["action"] == "job.claimed"} <= {
            "worker:worker-a",
            "worker:worker-b",
        }


def test_a_killed_worker_s_job_is_finished_by_another_without_double_submissions(
    db_url: str, tmp_path: Path
) -> None:
    with running_stack(db_url, tmp_path, lease_seconds=8) as stack:
        stack.sync_sandbox_directories()
        doomed = stack.start_worker("worker-doomed", CONTEXTS="1")
        job_id = _job(stack)

        # Kill it while it waits on the slow site: mid-job, but not in the middle of a
        # submission another site has already accepted.
        def on_slow() -> bool:
            return any(
                a["action"] == "directory.started" and a["directory_id"] == "sandbox-slow"
                for a in job_audit(stack, job_id)
            )

        wait_until(on_slow, timeout=120, what="the doomed worker reaching the slow site")
        done_before = sum(
            1 for a in job_audit(stack, job_id) if a["action"] == "directory.attempt_reported"
        )
        os.kill(doomed.pid, signal.SIGKILL)
        doomed.wait(timeout=10)
        assert done_before >= 10

        stack.start_worker("worker-rescuer")
        detail = wait_for_job(stack, job_id, {"complete", "failed"})
        assert detail["job"]["status"] == "complete"
        got = {d["directory_id"]: d["status"] for d in detail["directories"]}
        assert got == {k: v[0] for k, v in EXPECTED.items()}
        actions = [
            (a["actor"], a["action"]) for a in detail["audit"] if a["action"].startswith("job.")
        ]
        assert ("reaper", "job.lease_expired") in actions
        assert ("worker:worker-rescuer", "job.claimed") in actions
        # No directory accepted the business twice.
        accepted = _accepted_per_site(stack)
        assert accepted
        assert set(accepted.values()) == {1}, accepted


def test_pause_and_cancel_take_effect_before_the_next_directory(
    db_url: str, tmp_path: Path
) -> None:
    with running_stack(db_url, tmp_path) as stack:
        stack.sync_sandbox_directories()
        worker = stack.start_worker("worker-1", CONTEXTS="1")
        job_id = _job(stack)
        with stack.staff() as staff:
            wait_until(lambda: len(stack.submissions()) >= 2, what="two accepted submissions")
            paused = staff.post(f"/jobs/{job_id}/pause", json={"reason": "A test pause."})
            assert paused.json()["status"] == "paused"
            paused_at = time.monotonic()
            # The worker hears 'paused' (or the 409 refusing a report made after it) and
            # starts nothing more.
            wait_until(
                lambda: '"action": "job.stopping"' in stack.log("worker-1"),
                timeout=20,
                what="the worker stopping on pause",
            )
            started = [a for a in job_audit(stack, job_id) if a["action"] == "directory.started"]
            time.sleep(3)
            assert [
                a for a in job_audit(stack, job_id) if a["action"] == "directory.started"
            ] == started
            assert time.monotonic() - paused_at < 30
            frozen = len(stack.submissions())
            time.sleep(2)
            assert len(stack.submissions()) == frozen

            assert staff.post(f"/jobs/{job_id}/resume").json()["status"] == "pending"
            wait_until(lambda: len(stack.submissions()) > frozen, what="work resuming")
            stops = stack.log("worker-1").count('"action": "job.stopping"')
            cancelled = staff.post(f"/jobs/{job_id}/cancel", json={"reason": "A test cancel."})
            assert cancelled.json()["status"] == "cancelled"
            # The worker hears 'cancelled' on Realtime, or — when the attempt under way
            # reports first — the orchestrator's 409 (lease lost); either way it stops.
            wait_until(
                lambda: stack.log("worker-1").count('"action": "job.stopping"') > stops,
                timeout=20,
                what="the worker stopping on cancel",
            )
            time.sleep(3)
            detail = staff.get(f"/jobs/{job_id}").json()
        assert detail["job"]["status"] == "cancelled"
        statuses = Counter(d["status"] for d in detail["directories"])
        assert statuses["skipped"] > 0
        assert statuses["queued"] == 0
        assert worker.poll() is None, "the worker goes on to other jobs"
        # Nothing was submitted after the cancellation settled.
        settled = len(stack.submissions())
        time.sleep(2)
        assert len(stack.submissions()) == settled


def test_sigterm_releases_the_job_and_exits_zero(db_url: str, tmp_path: Path) -> None:
    with running_stack(db_url, tmp_path) as stack:
        stack.sync_sandbox_directories()
        worker = stack.start_worker("worker-1", CONTEXTS="1")
        job_id = _job(stack)
        wait_until(lambda: len(stack.submissions()) >= 1, what="a first submission")
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0
        with stack.staff() as staff:
            detail = staff.get(f"/jobs/{job_id}").json()
        assert detail["job"]["status"] == "pending"
        released = [a for a in detail["audit"] if a["action"] == "job.released"]
        assert released
        assert released[-1]["details"] == {"reason": "worker shutting down"}
        assert all(d["status"] != "in_progress" for d in detail["directories"])
        # Every attempt the worker made was reported before it left.
        reported = {(a["directory_id"], a["attempt"]) for a in detail["attempts"]}
        accepted_sites = {s["site"] for s in stack.submissions()}
        assert {f"sandbox-{site}" for site in accepted_sites} <= {d for d, _ in reported}


def test_an_enterprise_job_without_a_healthy_proxy_is_not_submitted(
    db_url: str, tmp_path: Path
) -> None:
    with running_stack(db_url, tmp_path) as stack:
        stack.sync_sandbox_directories()
        stack.start_worker("worker-1", PROXY_URLS="")
        job_id = _job(stack, tier="enterprise")

        def released() -> list[dict[str, Any]]:
            return [a for a in job_audit(stack, job_id) if a["action"] == "job.released"]

        first = wait_until(released, timeout=60, what="the job being released")
        assert "no healthy proxy" in first[0]["details"]["reason"]
        assert stack.submissions() == []


def test_proxies_rotate_away_from_a_failing_one(db_url: str, tmp_path: Path) -> None:
    with running_stack(db_url, tmp_path) as stack:
        stack.sync_sandbox_directories()
        failing = stack.proxy_ports[0]
        response = httpx.post(
            stack.url("proxy_admin") + "/_admin/proxies/1/mode", json={"mode": "error"}, timeout=5
        )
        assert response.status_code == 200
        stack.start_worker("worker-1")
        job_id = _job(stack)
        detail = wait_for_job(stack, job_id, {"complete", "failed"})
        by_proxy = Counter((a["proxy"], a["error_code"]) for a in detail["attempts"])
        failing_label = f"127.0.0.1:{failing}"
        # The failing proxy was tried, failed, rested; everything was done through the others.
        assert by_proxy[(failing_label, "proxy_error")] >= 1
        assert (
            sum(
                n
                for (proxy, code), n in by_proxy.items()
                if proxy == failing_label and code != "proxy_error"
            )
            == 0
        )
        got = {d["directory_id"]: d["status"] for d in detail["directories"]}
        assert got == {k: v[0] for k, v in EXPECTED.items()}
        stats = httpx.get(stack.url("proxy_admin") + "/_admin/stats", timeout=5).json()
        assert stats
