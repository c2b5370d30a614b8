"""A worker whose Realtime drops falls back to its short poll and comes back to Realtime by
itself: real worker process (real Chromium), the real Realtime stand-in killed and restarted
on the same port, then frozen (SIGSTOP: the socket stays open but nothing answers, which
only the heartbeat can notice) and thawed.

The worker's poll beside Realtime is 600 s (jittered: never under 300 s), so a job claimed
within a minute while Realtime is up was woken through Realtime; its short poll while
Realtime is down is 0.5 s doubling to 2 s, so a job claimed then was found by that poll.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import psycopg

from dbolt.sql import Queries
from tests.support.e2e_stack import Stack, running_stack, wait_for_job, wait_until
from tests.support.ports import free_ports
from tests.support.queue_helpers import create_job

DIRECTORY = "sandbox-plain"
# Far under the 300 s that the worker's Realtime-side poll waits at the least.
WOKEN_WITHIN = 60.0


def _health(port: int) -> dict[str, Any]:
    try:
        body: dict[str, Any] = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).json()
    except httpx.TransportError:
        return {}
    return body


def _wait_idle(port: int, wake_ups: str, timeout: float = 60) -> dict[str, Any]:
    def ready() -> dict[str, Any] | None:
        status = _health(port)
        return status if status.get("state") == "idle" and status["wake_ups"] == wake_ups else None

    result: dict[str, Any] = wait_until(ready, timeout, f"worker idle with {wake_ups} wake-ups")
    return result


def _claimed_and_done(stack: Stack, what: str) -> None:
    """A new one-directory job, claimed and finished well before the long poll could."""
    with psycopg.connect(stack.db_url, autocommit=True) as conn:
        job_id = str(create_job(conn, Queries.load(), email=f"{what}@reconnect.example"))
    detail = wait_for_job(stack, job_id, {"complete", "failed"}, timeout=WOKEN_WITHIN)
    assert detail["job"]["status"] == "complete", what


def test_a_dropped_realtime_link_polls_meanwhile_and_comes_back(
    db_url: str, tmp_path: Path
) -> None:
    with running_stack(db_url, tmp_path) as stack:
        stack.sync_sandbox_directories(only={DIRECTORY})
        (health,) = free_ports(1)
        stack.start_worker(
            "worker-rt",
            CONTEXTS="1",
            HEALTH_PORT=str(health),
            LIVE_CHECK_BATCH="0",
            POLL_MIN_SECONDS="0.5",
            POLL_MAX_SECONDS="2",
            REALTIME_POLL_SECONDS="600",
            REALTIME_HEARTBEAT_SECONDS="1",
            REALTIME_RETRY_MIN_SECONDS="0.2",
            REALTIME_RETRY_MAX_SECONDS="1",
        )
        _wait_idle(health, "realtime")
        _claimed_and_done(stack, "woken-before")

        # Killed: the socket is reset, the worker polls with its short backoff.
        stack.kill_supabase()
        down = _wait_idle(health, "polling", timeout=30)
        assert down["realtime_error"], down
        _claimed_and_done(stack, "polled-while-down")

        # Back on the same port: the worker rejoins by itself and is woken through it again.
        stack.start_supabase()
        back = _wait_idle(health, "realtime", timeout=60)
        assert back["realtime_error"] is None, back
        _claimed_and_done(stack, "woken-after-restart")

        # Frozen: no close, no reset; only the missing heartbeat reply shows the drop.
        supabase = stack.processes["supabase"]
        os.kill(supabase.pid, signal.SIGSTOP)
        try:
            frozen = _wait_idle(health, "polling", timeout=30)
            assert "heartbeat" in frozen["realtime_error"], frozen
            _claimed_and_done(stack, "polled-while-frozen")
        finally:
            os.kill(supabase.pid, signal.SIGCONT)
        _wait_idle(health, "realtime", timeout=60)
        _claimed_and_done(stack, "woken-after-thaw")

        log = stack.log("worker-rt")
        assert log.count('"realtime.lost"') >= 2, log[-3000:]
        assert log.count('"realtime.reconnected"') >= 2, log[-3000:]


def test_realtime_errors_on_healthz_never_carry_the_anon_key(tmp_path: Path) -> None:
    """websockets' InvalidURI quotes the URL, and realtime puts `?apikey=<anon key>` in it:
    the real worker, given a Supabase URL websockets cannot parse, says why on /healthz
    without the key. No orchestrator is needed: /healthz answers while claims fail."""
    health, nobody = free_ports(2)
    anon_key = "anon-key-that-must-not-leak-" + os.urandom(8).hex()
    env = os.environ | {
        "ENVIRONMENT": "development",
        "WORKER_ID": "worker-leak",
        "ORCHESTRATOR_URL": f"http://127.0.0.1:{nobody}",
        "SUPABASE_URL": "http://a@b@c",
        "SUPABASE_ANON_KEY": anon_key,
        "REALTIME_ACCESS_TOKEN": "a-token-for-realtime",
        "WORKER_AUTH_EMAIL": "",
        "HEALTH_PORT": str(health),
        "LIVE_CHECK_BATCH": "0",
        "ARTIFACTS_DIR": str(tmp_path / "artifacts"),
        "REALTIME_RETRY_MIN_SECONDS": "0.2",
        "REALTIME_RETRY_MAX_SECONDS": "0.5",
    }
    log = (tmp_path / "worker.log").open("wb")
    worker = subprocess.Popen(
        [sys.executable, "-m", "worker"], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        status = wait_until(
            lambda: (body := _health(health)).get("realtime_error") and body,
            60,
            "a realtime error on /healthz",
        )
        assert "InvalidURI" in status["realtime_error"], status
        assert "apikey=***" in status["realtime_error"], status
        raw = httpx.get(f"http://127.0.0.1:{health}/healthz", timeout=2).text
        assert anon_key not in raw
    finally:
        worker.terminate()
        worker.wait(timeout=30)
