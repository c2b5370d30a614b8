"""The orchestrator as a real subprocess (`python -m orchestrator`), as ops would run it.

A subprocess rather than an in-process app, so its CPU and memory are its own and the
benchmark's HTTP client competes with it for the CPUs the way a co-located worker would.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg

from bench.orchestrator import processes

ROOT = Path(__file__).resolve().parent.parent.parent
STARTUP_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 10.0

# The pool's backends in the orchestrator's database: every client backend but our own.
BACKEND_PIDS_SQL = """
select pid from pg_stat_activity
 where datname = current_database() and backend_type = 'client backend'
   and pid <> pg_backend_pid()
"""


@dataclass(frozen=True)
class Checkout:
    """Which orchestrator runs: a checkout's code with the interpreter of that checkout's venv.

    Another checkout (`--baseline`, e.g. a worktree of main) brings its own venv, so a
    "before" measured beside an "after" runs the libraries it had too (with uvicorn's loop
    and HTTP parser picked from what is installed, a shared venv would hand main the new ones).
    """

    root: Path
    python: str
    label: str

    @classmethod
    def at(cls, root: Path, label: str) -> Checkout:
        root = root.resolve()
        python = root / ".venv" / "bin" / "python"
        if not python.exists():
            raise SystemExit(f"{root} has no .venv/bin/python: run `make deps` there first")
        return cls(root, str(python), label)


def checkout_label(root: Path) -> str:
    """`main 59688c1` (a branch and its commit), `59688c1 +changes` when the tree is dirty."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown commit"
    branch = git("rev-parse", "--abbrev-ref", "HEAD")
    label = commit if branch in ("", "HEAD") else f"{branch} {commit}"
    return label + (" +changes" if git("status", "--porcelain", "--untracked-files=no") else "")


# This checkout, run by this interpreter (the benchmark runs from the project's virtualenv).
THIS_CHECKOUT = Checkout(ROOT, sys.executable, "this checkout")


@dataclass(frozen=True)
class ServerConfig:
    database_url: str
    pool_size: int
    lease_seconds: int
    worker_token: str
    stats_interval_seconds: float
    log_path: Path
    checkout_timeout_seconds: float
    checkout: Checkout = THIS_CHECKOUT


@dataclass(frozen=True)
class Orchestrator:
    process: subprocess.Popen[bytes]
    base_url: str
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def peak_rss_bytes(self) -> int:
        return processes.peak_rss_bytes(self.pid)

    def rss_bytes(self) -> int:
        return processes.rss_bytes(self.pid)

    def metrics_text(self) -> str:
        response = httpx.get(f"{self.base_url}/metrics", timeout=10)
        response.raise_for_status()
        return response.text


def free_port() -> int:
    """A port nobody listens on now; the tiny race until uvicorn binds it is acceptable."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _environment(config: ServerConfig, port: int) -> dict[str, str]:
    return {
        **os.environ,
        # Services are in production unless told otherwise; this one runs on local defaults.
        "ENVIRONMENT": "development",
        "DATABASE_URL": config.database_url,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WORKER_TOKEN": config.worker_token,
        "LEASE_SECONDS": str(config.lease_seconds),
        # min = max: the pool is full before the clock starts, as in a service that has
        # been up a while, rather than growing (and connecting) inside the timed window.
        "DB_POOL_MIN_SIZE": str(config.pool_size),
        "DB_POOL_MAX_SIZE": str(config.pool_size),
        "DB_TIMEOUT_SECONDS": str(config.checkout_timeout_seconds),
        "STATS_INTERVAL_SECONDS": str(config.stats_interval_seconds),
        # Warnings and errors only: an INFO line per claim would measure the log sink.
        "LOG_LEVEL": "WARNING",
    }


def _log_tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _wait_healthy(server: Orchestrator) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"the orchestrator exited with {server.process.returncode} while starting:\n"
                + _log_tail(server.log_path)
            )
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{server.base_url}/healthz", timeout=2).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(
        f"the orchestrator did not answer /healthz with 200 within {STARTUP_TIMEOUT_SECONDS:.0f}"
        " s:\n" + _log_tail(server.log_path)
    )


def backend_pids(database_url: str) -> list[int]:
    with psycopg.connect(database_url) as conn:
        return [int(row[0]) for row in conn.execute(BACKEND_PIDS_SQL).fetchall()]


def wait_for_pool(database_url: str, size: int) -> list[int]:
    """Wait until the orchestrator's pool holds all its connections; return their pids."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while len(pids := backend_pids(database_url)) < size:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the orchestrator's pool has {len(pids)} of {size} connections")
        time.sleep(0.1)
    return pids


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM (uvicorn shuts down gracefully and closes the pool), then kill if it hangs."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextlib.contextmanager
def running(config: ServerConfig) -> Iterator[Orchestrator]:
    """A healthy orchestrator with a full pool; stopped on the way out, errors or not."""
    port = free_port()
    config.log_path.parent.mkdir(parents=True, exist_ok=True)
    with config.log_path.open("wb") as log:
        process = subprocess.Popen(
            [config.checkout.python, "-m", "orchestrator"],
            cwd=config.checkout.root,
            env=_environment(config, port),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        server = Orchestrator(process, f"http://127.0.0.1:{port}", config.log_path)
        _wait_healthy(server)
        yield server
    finally:
        _stop(process)
