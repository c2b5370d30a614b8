"""`make up`: the whole local stack in the foreground.

Starts every local service, prints what runs where, and on Ctrl-C (or SIGTERM) stops them
all, newest first. A service that dies while the stack runs is reported and takes the
stack down with it, so nothing limps on half-started.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg

from devstack import jwt_keys, localdb
from devstack.supabase_api.accounts import ensure_worker_account, worker_password

ROOT = Path(__file__).resolve().parent.parent
ORCHESTRATOR_PORT = int(os.environ.get("PORT", "8100"))
SUPABASE_PORT = 54321
SANDBOX_PORT = 8400
CAPTCHA_PORT = 8410
PROXY_ADMIN_PORT = 8420
PROXY_PORTS = (8421, 8422, 8423)
PROXY_USER, PROXY_PASSWORD = "dbolt", "local-dev-proxy-pass"
CAPTCHA_KEY = "local-dev-2captcha-key"
WORKERS = 2
WORKER_TOKEN = os.environ.get("WORKER_TOKEN", "local-dev-worker-token")
STAFF_API_KEY = os.environ.get("STAFF_API_KEY", "local-dev-staff-key")


@dataclass
class Service:
    name: str
    address: str
    note: str = ""

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def alive(self) -> bool:
        return True


@dataclass
class Database(Service):
    def start(self) -> None:
        localdb.prepare("postgres")
        # The workers sign in to Auth as this service account to hear Realtime.
        with psycopg.connect(localdb.database_url(), autocommit=True) as conn:
            ensure_worker_account(conn)

    def stop(self) -> None:
        localdb.stop()


@dataclass
class Process(Service):
    """A Python module run as a child process, ready once `ready_url` answers."""

    module: str = ""
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    ready_url: str = ""
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", self.module, *self.args], cwd=ROOT, env=os.environ | self.env
        )
        _wait_ready(self.ready_url, self.process, self.name)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


def _wait_ready(url: str, process: subprocess.Popen[bytes], name: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode} while starting")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{name} did not answer {url} within {timeout:.0f} s")


def services() -> list[Service]:
    orchestrator_url = f"http://127.0.0.1:{ORCHESTRATOR_PORT}"
    supabase_url = f"http://127.0.0.1:{SUPABASE_PORT}"
    return [
        Database(
            name="postgres",
            address=localdb.database_url(),
            note="Supabase-shaped PostgreSQL 15 (migrations + seed + directories.json)",
        ),
        Process(
            name="supabase",
            address=supabase_url,
            note="stand-in for Supabase Auth (/auth/v1) and Realtime (/realtime/v1)",
            module="devstack.supabase_api",
            args=["--port", str(SUPABASE_PORT), "--database-url", localdb.database_url()],
            ready_url=f"{supabase_url}/auth/v1/.well-known/jwks.json",
        ),
        Process(
            name="sandbox",
            address=f"http://127.0.0.1:{SANDBOX_PORT}",
            note="24 fake directory sites the workers submit to (admin: /_admin/submissions)",
            module="devstack.sandbox",
            args=["--port", str(SANDBOX_PORT)],
            ready_url=f"http://127.0.0.1:{SANDBOX_PORT}/_admin/submissions",
        ),
        Process(
            name="2captcha",
            address=f"http://127.0.0.1:{CAPTCHA_PORT}",
            note="2Captcha API stand-in (solves the sandbox's captchas)",
            module="devstack.twocaptcha",
            args=["--port", str(CAPTCHA_PORT)],
            env={"TWOCAPTCHA_API_KEY": CAPTCHA_KEY},
            ready_url=f"http://127.0.0.1:{CAPTCHA_PORT}/_admin/stats",
        ),
        Process(
            name="proxies",
            address=", ".join(f"127.0.0.1:{port}" for port in PROXY_PORTS),
            note=f"forward proxies (admin: http://127.0.0.1:{PROXY_ADMIN_PORT}/_admin/stats)",
            module="devstack.proxies",
            args=[
                "--ports",
                ",".join(map(str, PROXY_PORTS)),
                "--user",
                PROXY_USER,
                "--password",
                PROXY_PASSWORD,
                "--admin-port",
                str(PROXY_ADMIN_PORT),
            ],
            ready_url=f"http://127.0.0.1:{PROXY_ADMIN_PORT}/_admin/stats",
        ),
        Process(
            name="orchestrator",
            address=orchestrator_url,
            note="the queue's only door; API docs at /docs, /metrics, /healthz",
            module="orchestrator",
            env={
                "DATABASE_URL": localdb.database_url(),
                "PORT": str(ORCHESTRATOR_PORT),
                "WORKER_TOKEN": WORKER_TOKEN,
                "STAFF_API_KEY": STAFF_API_KEY,
            },
            ready_url=f"{orchestrator_url}/healthz",
        ),
        *(_worker(n, orchestrator_url, supabase_url) for n in range(1, WORKERS + 1)),
    ]


def _worker(number: int, orchestrator_url: str, supabase_url: str) -> Process:
    health_port = 8430 + number
    proxy_urls = ",".join(
        f"http://{PROXY_USER}:{PROXY_PASSWORD}@127.0.0.1:{port}" for port in PROXY_PORTS
    )
    return Process(
        name=f"worker-{number}",
        address=f"http://127.0.0.1:{health_port}/healthz",
        note="Chromium via Playwright; wakes on Realtime" if number == 1 else "",
        module="worker",
        env={
            "WORKER_ID": f"local-worker-{number}",
            "ORCHESTRATOR_URL": orchestrator_url,
            "WORKER_TOKEN": WORKER_TOKEN,
            "SUPABASE_URL": supabase_url,
            "SUPABASE_ANON_KEY": jwt_keys.mint_api_key("anon"),
            "WORKER_AUTH_EMAIL": jwt_keys.WORKER_ACCOUNT_EMAIL,
            "WORKER_AUTH_PASSWORD": worker_password(),
            "TWOCAPTCHA_API_KEY": CAPTCHA_KEY,
            "TWOCAPTCHA_BASE_URL": f"http://127.0.0.1:{CAPTCHA_PORT}",
            "PROXY_URLS": proxy_urls,
            "HEALTH_PORT": str(health_port),
        },
        ready_url=f"http://127.0.0.1:{health_port}/healthz",
    )


def _print_table(running: list[Service]) -> None:
    width = max(len(service.name) for service in running)
    print("\nDirectoryBolt local stack is up:\n")
    for service in running:
        print(f"  {service.name.ljust(width)}  {service.address}")
        if service.note:
            print(f"  {' ' * width}  {service.note}")
    print(f"\n  DATABASE_URL={localdb.database_url()}")
    print(f"  WORKER_TOKEN={WORKER_TOKEN}    (workers: Authorization: Bearer …)")
    print(f"  STAFF_API_KEY={STAFF_API_KEY}    (staff API: Authorization: Bearer …)")
    print(f"  SUPABASE_URL=http://127.0.0.1:{SUPABASE_PORT}")
    print(f"  SUPABASE_ANON_KEY={jwt_keys.mint_api_key('anon')}")
    print(f"  SUPABASE_SERVICE_ROLE_KEY={jwt_keys.mint_api_key('service_role')}")
    print(f"  worker service account: {jwt_keys.WORKER_ACCOUNT_EMAIL} / {worker_password()}")
    print("\nCreate a demo job and watch the workers submit it: make demo")
    print("\nPress Ctrl-C to stop everything.\n", flush=True)


def _watch(running: list[Service], stop_requested: threading.Event) -> None:
    while not stop_requested.wait(1.0):
        for service in running:
            if not service.alive():
                print(
                    f"{service.name} stopped unexpectedly; shutting the stack down", file=sys.stderr
                )
                stop_requested.set()
                return


def main() -> int:
    stop_requested = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop_requested.set())

    running: list[Service] = []
    return_code = 0
    try:
        for service in services():
            print(f"starting {service.name} …", flush=True)
            service.start()
            running.append(service)
        _print_table(running)
        _watch(running, stop_requested)
    except (subprocess.CalledProcessError, SystemExit, OSError, RuntimeError) as error:
        print(f"could not start the stack: {error}", file=sys.stderr)
        return_code = 1
    finally:
        for service in reversed(running):
            print(f"stopping {service.name} …", flush=True)
            service.stop()
    print("stopped.")
    return return_code


if __name__ == "__main__":
    sys.exit(main())
