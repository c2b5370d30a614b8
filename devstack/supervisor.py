"""`make up`'s supervisor: restarts a crashed service with backoff, as production does.

In production a crashed worker (or orchestrator, webhook, portal) is restarted by its
container runtime (docs: operational-architecture "Worker Crash"), and its unfinished job goes
back to pending. `make up` does the same for the services marked `restartable`: after a
pause that starts at `first_delay` and doubles with each crash up to `max_delay` (reset
once the service has run `healthy_after` without crashing), with a WARNING line on the
console. A service that crashes `max_crashes` times within `within` is left stopped (a bug
to fix, not bad luck): the console says so, shows the end of its log and the rest of the
stack keeps running.

A service not marked restartable (a stand-in keeping its state in memory: the mail inbox,
Stripe's sessions; or the database) stops the whole stack when it dies: restarting it would
silently lose that state, and a stand-in dying is a bug in the dev tools to look at.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from dbolt.words import count_of, duration
from devstack.stack_console import Console, tail


class Supervised(Protocol):
    """What the supervisor needs of a service (devstack.up.Service)."""

    name: str
    restartable: bool

    def alive(self) -> bool: ...

    def restart(self) -> None: ...

    def stop(self) -> None: ...

    def exit_code(self) -> int | None: ...

    def uptime(self) -> float: ...

    def log_path(self) -> Path | None: ...


@dataclass(frozen=True)
class RestartPolicy:
    first_delay: float = 1.0
    max_delay: float = 30.0
    # A run this long was a healthy one: the next crash starts the backoff afresh.
    healthy_after: float = 60.0
    max_crashes: int = 5
    within: float = 300.0
    # How often the services are looked at.
    poll: float = 0.5


@dataclass
class _Crashes:
    delay: float
    times: deque[float] = field(default_factory=deque)
    restart_at: float | None = None
    given_up: bool = False


def _relative(path: Path | None) -> str:
    if path is None:
        return "its output above"
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _show_tail(console: Console, service: Supervised) -> None:
    # Stopping a dead service collects the rest of its output into its log first.
    service.stop()
    path = service.log_path()
    last = tail(path) if path is not None else []
    if last:
        console.line(f"  last lines of {_relative(path)}:")
        for line in last:
            console.line(f"  | {line}")


def supervise(
    services: list[Supervised],
    stop_requested: threading.Event,
    console: Console,
    policy: RestartPolicy = RestartPolicy(),
) -> str | None:
    """Watch until `stop_requested` is set (returns None) or a service that is not
    restartable dies (returns why, for the stack to shut down)."""
    crashes = {service.name: _Crashes(policy.first_delay) for service in services}
    while not stop_requested.wait(policy.poll):
        now = time.monotonic()
        for service in services:
            state = crashes[service.name]
            if state.given_up:
                continue
            if state.restart_at is not None:
                if now >= state.restart_at:
                    state.restart_at = None
                    service.restart()
                continue
            if service.alive():
                continue
            code, ran = service.exit_code(), service.uptime()
            if not service.restartable:
                console.line(
                    f"ERROR: {service.name} stopped unexpectedly (exit code {code}); "
                    "shutting the stack down (it keeps state in memory, so it is not restarted)"
                )
                _show_tail(console, service)
                return f"{service.name} stopped"
            if ran >= policy.healthy_after:
                state.delay = policy.first_delay
                state.times.clear()
            state.times.append(now)
            while state.times and state.times[0] < now - policy.within:
                state.times.popleft()
            if len(state.times) >= policy.max_crashes:
                state.given_up = True
                console.line(
                    f"ERROR: {service.name} crashed {count_of(len(state.times), 'time')} within "
                    f"{duration(policy.within)} (last exit code {code}); not restarting it again. "
                    f"Look at {_relative(service.log_path())}; the rest of the stack keeps "
                    "running; stop it with Ctrl-C and run `make up` again once it is fixed."
                )
                _show_tail(console, service)
                continue
            console.line(
                f"WARNING: {service.name} crashed (exit code {code}) after running "
                f"{ran:.1f} s; restarting it in {state.delay:g} s "
                f"(crash {len(state.times)} of {policy.max_crashes} allowed within "
                f"{duration(policy.within)}; log: {_relative(service.log_path())})"
            )
            state.restart_at = now + state.delay
            state.delay = min(state.delay * 2, policy.max_delay)
    return None
