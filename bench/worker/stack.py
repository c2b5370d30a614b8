"""The processes of a run — sandbox, orchestrator, worker, bare loop — on free loopback ports,
each stopped (with everything it started) on the way out, errors or not.

Children run in a directory of their own with a minimal environment: no `.env` to pick up,
and no inherited PROXY_URLS, SUPABASE_ANON_KEY or TWOCAPTCHA_API_KEY to change what the
worker does behind the benchmark's back.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.orchestrator.server import free_port
from bench.worker import procfs

ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 20.0
_INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR")

__all__ = ["ROOT", "Service", "free_port", "running"]


@dataclass(frozen=True)
class Service:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    base_url: str | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self, lines: int = 25) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])


def environment(settings: Mapping[str, str]) -> dict[str, str]:
    base = {name: os.environ[name] for name in _INHERITED if name in os.environ}
    # Services are in production unless told otherwise; these run on local defaults.
    local = {"PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1", "ENVIRONMENT": "development"}
    return base | local | dict(settings)


def _wait_ready(service: Service, url: str) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if service.process.poll() is not None:
            raise RuntimeError(
                f"{service.name} exited with {service.process.returncode} while starting:\n"
                + service.log_tail()
            )
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(url, timeout=2).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(
        f"{service.name} did not answer {url} within {STARTUP_TIMEOUT_SECONDS:.0f} s:\n"
        + service.log_tail()
    )


def stop(service: Service) -> None:
    """SIGTERM (the worker then releases its job and closes Chromium), kill if it hangs, and
    kill by pid whatever it started that outlived it (a Chromium orphaned by a crash)."""
    process = service.process
    started_by_it = procfs.descendants(process.pid) if process.poll() is None else []
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    for pid in started_by_it:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    for stream in (process.stdin, process.stdout):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()


@contextlib.contextmanager
def running(
    name: str,
    args: Sequence[str],
    settings: Mapping[str, str],
    run_dir: Path,
    *,
    ready_url: str | None = None,
    base_url: str | None = None,
    pipes: bool = False,
) -> Iterator[Service]:
    """`python <args>` from this virtualenv, its output in `<run_dir>/<name>.log` (or, with
    `pipes`, stdin/stdout piped to us and stderr passed through)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    log_path = run_dir / f"{name}.log"
    with contextlib.ExitStack() as files:
        log = None if pipes else files.enter_context(log_path.open("wb"))
        process = subprocess.Popen(
            [sys.executable, *args],
            cwd=run_dir,
            env=environment(settings),
            stdin=subprocess.PIPE if pipes else subprocess.DEVNULL,
            stdout=subprocess.PIPE if pipes else log,
            stderr=None if pipes else subprocess.STDOUT,
            # Its own process group: a Ctrl-C reaches only us, and we stop it in order.
            start_new_session=True,
        )
    service = Service(name, process, log_path, base_url)
    try:
        if ready_url is not None:
            _wait_ready(service, ready_url)
        yield service
    finally:
        stop(service)
