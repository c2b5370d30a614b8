"""A worker whose Chromium dies (SIGKILL: an OOM kill, or a crash of the network service,
which runs inside the browser process) launches a new one and goes on working: the real
worker process, its real Chromium killed by pid, a real job over a sandbox directory after."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import httpx
import psycopg

from bench.worker import procfs
from dbolt.sql import Queries
from tests.support.e2e_stack import running_stack, wait_for_job, wait_until
from tests.support.ports import free_ports
from tests.support.queue_helpers import create_job

DIRECTORY = "sandbox-plain"


def _health(port: int) -> dict[str, Any]:
    try:
        body: dict[str, Any] = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).json()
    except httpx.TransportError:
        return {}
    return body


def _browser_pid(worker_pid: int) -> int | None:
    """Chromium's browser process: the one of the worker's Chromium tree without --type=."""
    for pid in procfs.groups(worker_pid)[procfs.CHROMIUM]:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                args = cmdline.read().split(b"\0")
        except OSError:
            continue
        if not any(arg.startswith(b"--type=") for arg in args):
            return pid
    return None


def test_a_worker_whose_browser_dies_launches_another_and_finishes_the_next_job(
    db_url: str, tmp_path: Path
) -> None:
    with running_stack(db_url, tmp_path) as stack:
        stack.sync_sandbox_directories(only={DIRECTORY})
        (health,) = free_ports(1)
        worker = stack.start_worker(
            "worker-crash", CONTEXTS="1", HEALTH_PORT=str(health), LIVE_CHECK_BATCH="0"
        )
        wait_until(lambda: _health(health).get("state") == "idle", 60, "worker idle")
        first = _browser_pid(worker.pid)
        assert first is not None

        os.kill(first, signal.SIGKILL)
        second = wait_until(
            lambda: (pid := _browser_pid(worker.pid)) not in (None, first) and pid,
            30,
            "a new browser",
        )

        with psycopg.connect(stack.db_url, autocommit=True) as conn:
            job_id = str(create_job(conn, Queries.load(), email="after-crash@crash.example"))
        detail = wait_for_job(stack, job_id, {"complete", "failed"}, timeout=60)
        assert detail["job"]["status"] == "complete", detail
        assert worker.poll() is None
        assert _browser_pid(worker.pid) == second
        log = stack.log("worker-crash")
        assert log.count('"worker.browser_relaunched"') == 1, log[-3000:]
