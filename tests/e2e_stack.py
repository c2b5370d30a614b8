"""The whole system as real processes for end-to-end tests: orchestrator, Realtime
stand-in, sandbox directories, 2Captcha stand-in, proxies and workers (real Chromium),
against a fresh database of the local cluster. Everything on free loopback ports."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg

from dbolt.directories import load_directories, sync_directories
from devstack import jwt_keys
from devstack.supabase_api.accounts import ensure_worker_account, worker_password
from tests.orchestrator_harness import STAFF_KEY, WORKER_TOKEN, free_port

ROOT = Path(__file__).resolve().parent.parent
SANDBOX_DEFAULT = "http://127.0.0.1:8400"
PROXY_USER, PROXY_PASSWORD = "dbolt", "e2e-proxy-pass"


def _wait_http(url: str, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer in {timeout} s")


@dataclass
class Stack:
    db_url: str
    tmp: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    @property
    def proxy_urls(self) -> str:
        return ",".join(
            f"http://{PROXY_USER}:{PROXY_PASSWORD}@127.0.0.1:{port}" for port in self.proxy_ports
        )

    proxy_ports: list[int] = field(default_factory=list)

    def _spawn(
        self,
        name: str,
        args: list[str],
        env: dict[str, str] | None = None,
        ready: str | None = None,
    ) -> None:
        log = (self.tmp / f"{name}.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, *args],
            cwd=ROOT,
            env=os.environ | (env or {}),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.processes[name] = process
        if ready:
            _wait_http(ready, process)

    def start_services(self, slow_delay: float = 6.0, lease_seconds: int = 30) -> None:
        for name in ("orchestrator", "supabase", "sandbox", "captcha", "proxy_admin"):
            self.ports[name] = free_port()
        self.proxy_ports = [free_port() for _ in range(3)]
        self._spawn(
            "orchestrator",
            ["-m", "orchestrator"],
            {
                "DATABASE_URL": self.db_url,
                "PORT": str(self.ports["orchestrator"]),
                "WORKER_TOKEN": WORKER_TOKEN,
                "STAFF_API_KEY": STAFF_KEY,
                "LEASE_SECONDS": str(lease_seconds),
                "REAPER_INTERVAL_SECONDS": "0.5",
                "STATS_INTERVAL_SECONDS": "0.5",
            },
            ready=self.url("orchestrator") + "/healthz",
        )
        self._spawn(
            "supabase",
            [
                "-m",
                "devstack.supabase_api",
                "--port",
                str(self.ports["supabase"]),
                "--database-url",
                self.db_url,
            ],
            ready=self.url("supabase") + "/auth/v1/.well-known/jwks.json",
        )
        self._spawn(
            "sandbox",
            [
                "-m",
                "devstack.sandbox",
                "--port",
                str(self.ports["sandbox"]),
                "--slow-delay",
                str(slow_delay),
            ],
            ready=self.url("sandbox") + "/_admin/submissions",
        )
        self._spawn(
            "captcha",
            [
                "-m",
                "devstack.twocaptcha",
                "--port",
                str(self.ports["captcha"]),
                "--solve-delay",
                "0.2",
            ],
            ready=self.url("captcha") + "/_admin/stats",
        )
        self._spawn(
            "proxies",
            [
                "-m",
                "devstack.proxies",
                "--ports",
                ",".join(map(str, self.proxy_ports)),
                "--user",
                PROXY_USER,
                "--password",
                PROXY_PASSWORD,
                "--admin-port",
                str(self.ports["proxy_admin"]),
                "--log-dir",
                str(self.tmp / "proxies"),
            ],
            ready=self.url("proxy_admin") + "/_admin/stats",
        )

    def sync_sandbox_directories(self) -> list[dict[str, Any]]:
        """directories.json's sandbox entries, pointed at this test's sandbox port."""
        text = json.dumps(
            {"version": 1, "directories": load_directories(ROOT / "directories.json")}
        )
        entries = json.loads(text.replace(SANDBOX_DEFAULT, self.url("sandbox")))["directories"]
        sandbox = [e for e in entries if e["id"].startswith("sandbox-")]
        with psycopg.connect(self.db_url, autocommit=True) as conn:
            sync_directories(conn, sandbox)
            # The workers sign in to Auth as this service account for Realtime.
            ensure_worker_account(conn)
        return sandbox

    def worker_env(self, worker_id: str, **overrides: str) -> dict[str, str]:
        env = {
            "WORKER_ID": worker_id,
            "ORCHESTRATOR_URL": self.url("orchestrator"),
            "WORKER_TOKEN": WORKER_TOKEN,
            "SUPABASE_URL": self.url("supabase"),
            "SUPABASE_ANON_KEY": jwt_keys.mint_api_key("anon"),
            "WORKER_AUTH_EMAIL": jwt_keys.WORKER_ACCOUNT_EMAIL,
            "WORKER_AUTH_PASSWORD": worker_password(),
            "TWOCAPTCHA_API_KEY": "local-dev-2captcha-key",
            "TWOCAPTCHA_BASE_URL": self.url("captcha"),
            "CAPTCHA_POLL_SECONDS": "0.2",
            "PROXY_URLS": self.proxy_urls,
            "NAVIGATION_TIMEOUT_MS": "3000",
            "STEP_TIMEOUT_MS": "3000",
            "RETRY_BACKOFF_SECONDS": "0.2",
            "POLL_MIN_SECONDS": "0.2",
            "POLL_MAX_SECONDS": "1",
            "REALTIME_POLL_SECONDS": "2",
            "STOP_GRACE_SECONDS": "5",
            "ARTIFACTS_DIR": str(self.tmp / "artifacts"),
            "CONTEXTS": "2",
        }
        return env | overrides

    def start_worker(self, worker_id: str, **overrides: str) -> subprocess.Popen[bytes]:
        self._spawn(worker_id, ["-m", "worker"], self.worker_env(worker_id, **overrides))
        return self.processes[worker_id]

    def stop(self) -> None:
        for process in reversed(list(self.processes.values())):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()

    def log(self, name: str) -> str:
        return (self.tmp / f"{name}.log").read_text(errors="replace")

    # Reading the outcome --------------------------------------------------------------

    def staff(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.url("orchestrator"),
            headers={"Authorization": f"Bearer {STAFF_KEY}", "X-Actor": "e2e"},
            timeout=10,
        )

    def submissions(self) -> list[dict[str, Any]]:
        body: Any = httpx.get(self.url("sandbox") + "/_admin/submissions", timeout=5).json()
        return list(body if isinstance(body, list) else body.get("submissions", []))


@contextmanager
def running_stack(
    db_url: str, tmp: Path, slow_delay: float = 6.0, lease_seconds: int = 30
) -> Iterator[Stack]:
    """A lease long enough that a loaded machine never loses one by accident; the crash
    test asks for a short one, since it waits for a lease to expire."""
    stack = Stack(db_url=db_url, tmp=tmp)
    try:
        stack.start_services(slow_delay=slow_delay, lease_seconds=lease_seconds)
        yield stack
    finally:
        stack.stop()


def wait_for_job(
    stack: Stack, job_id: str, statuses: set[str], timeout: float = 180
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    with stack.staff() as staff:
        while time.monotonic() < deadline:
            detail: dict[str, Any] = staff.get(f"/jobs/{job_id}").json()
            if detail["job"]["status"] in statuses:
                return detail
            time.sleep(0.5)
    raise AssertionError(
        f"job {job_id} not {statuses} within {timeout} s; last: {detail['job']['status']}"
    )
