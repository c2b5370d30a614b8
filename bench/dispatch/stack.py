"""The processes the benchmark runs: the e2e stack's services once, and each phase's workers
(real Chromium) started and stopped around it."""

from __future__ import annotations

import signal
import subprocess
import time
from dataclasses import dataclass

import httpx

from tests.support.e2e_stack import Stack
from tests.support.ports import free_ports
from worker.settings import WorkerSettings

# The one directory every bench job gets: a plain form the sandbox answers at once.
DIRECTORY = "sandbox-plain"
# Nothing listens here: a worker told that Supabase lives here finds Realtime down.
REALTIME_DOWN_URL = "http://127.0.0.1:9"


def _default(name: str) -> float:
    return float(WorkerSettings.model_fields[name].default)


@dataclass(frozen=True)
class PollSettings:
    """How a worker polls: without Realtime (min → max, doubling) and beside it."""

    poll_min: float = _default("poll_min_seconds")
    poll_max: float = _default("poll_max_seconds")
    realtime_poll: float = _default("realtime_poll_seconds")
    realtime_heartbeat: float = _default("realtime_heartbeat_seconds")


@dataclass
class Workers:
    stack: Stack
    names: list[str]
    health: dict[str, int]

    def states(self) -> list[dict[str, object]]:
        return [
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).json()
            for port in self.health.values()
        ]

    def wait_idle(self, wake_ups: str, timeout: float = 120) -> None:
        """Until every worker is idle and hears of work the way this phase wants."""
        deadline = time.monotonic() + timeout
        last: list[dict[str, object]] = []
        while time.monotonic() < deadline:
            try:
                last = self.states()
            except httpx.TransportError:
                last = []
            if last and all(s["state"] == "idle" and s["wake_ups"] == wake_ups for s in last):
                return
            time.sleep(0.1)
        raise TimeoutError(f"workers not idle with {wake_ups} wake-ups: {last}")

    def stop(self) -> None:
        processes = [self.stack.processes.pop(name) for name in self.names]
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def start_workers(
    stack: Stack, phase: str, count: int, *, realtime: bool, polls: PollSettings
) -> Workers:
    ports = free_ports(count)
    names = [f"dispatch-{phase}-w{n}" for n in range(1, count + 1)]
    for name, port in zip(names, ports, strict=True):
        overrides = {
            "CONTEXTS": "1",
            "HEALTH_PORT": str(port),
            "POLL_MIN_SECONDS": str(polls.poll_min),
            "POLL_MAX_SECONDS": str(polls.poll_max),
            "REALTIME_POLL_SECONDS": str(polls.realtime_poll),
            "LIVE_CHECK_BATCH": "0",
        }
        if not realtime:
            overrides["SUPABASE_URL"] = REALTIME_DOWN_URL
        stack.start_worker(name, **overrides)
    workers = Workers(stack, names, dict(zip(names, ports, strict=True)))
    workers.wait_idle("realtime" if realtime else "polling")
    return workers
