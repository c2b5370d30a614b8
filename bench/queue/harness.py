"""Runs one queue system at one client count and measures it.

`run_one` is meant to run in a process of its own (see `__main__`), so that the peak RSS it
reports belongs to that system's run alone: ru_maxrss only ever grows within a process.
This module imports no queue library itself; each system's module is imported on demand
for the same reason.
"""

from __future__ import annotations

import importlib
import resource
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol, cast

from bench.queue.writes import Writes, per_cycle, snapshot
from dbolt.words import count_of

SYSTEM_MODULES = {
    "ours": "bench.queue.ours",
    "bare": "bench.queue.bare",
    "bare_writes": "bench.queue.bare_writes",
    "procrastinate": "bench.queue.procrastinate_queue",
}

# Memory the backend has allocated for itself (catalog and plan caches, compiled PL/pgSQL,
# work memory), as Postgres accounts it; unlike the backend's RSS it excludes the shared
# buffers it happened to touch.
BACKEND_MEMORY_SQL = (
    "select coalesce(sum(total_bytes), 0)::bigint as bytes from pg_backend_memory_contexts"
)

# A client that dies leaves the others waiting at a barrier; this bounds the wait.
BARRIER_TIMEOUT_SECONDS = 600.0


class Client(Protocol):
    """One worker with one database connection."""

    def open(self) -> None:
        """Connect and do any per-worker setup; not timed."""

    def work(self) -> int:
        """Run cycles until the queue is empty; return how many this client completed."""

    def backend_memory_bytes(self) -> int:
        """Memory of this client's backend, read after the timed window."""

    def close(self) -> None:
        """Disconnect; must be safe to call even if open() failed."""


class System(Protocol):
    """A queue implementation under test, with its own database."""

    def create_database(self) -> str:
        """Create a brand-new database holding this system's schema; return its URL."""

    def prefill(self, url: str, jobs: int) -> None:
        """Enqueue `jobs` jobs; not timed."""

    def client(self, url: str, index: int) -> Client:
        """A client that has not connected yet."""

    def count_finished(self, url: str) -> int:
        """How many jobs are done with all their results recorded."""


@dataclass(frozen=True)
class RunResult:
    system: str
    clients: int
    cycles: int
    seconds: float
    peak_rss_bytes: int
    backend_bytes_per_connection: int
    writes: Writes = field(default_factory=Writes)

    @property
    def cycles_per_second(self) -> float:
        return self.cycles / self.seconds


@dataclass(frozen=True)
class _ClientOutcome:
    cycles: int
    backend_bytes: int


def median_run(runs: Sequence[RunResult]) -> RunResult:
    """The run with the median throughput (the lower one of an even count), memory and all."""
    ordered = sorted(runs, key=lambda run: run.cycles_per_second)
    return ordered[(len(ordered) - 1) // 2]


def load_system(name: str) -> System:
    module = importlib.import_module(SYSTEM_MODULES[name])
    return cast(System, module.SYSTEM)


def run_one(system_name: str, jobs: int, clients: int) -> RunResult:
    """Fresh database, `jobs` jobs, `clients` concurrent clients until the queue is empty."""
    system = load_system(system_name)
    url = system.create_database()
    system.prefill(url, jobs)
    # Outside the timed window: it waits for the prefill's (then the clients') backends to go.
    before = snapshot(url)
    seconds, outcomes = _run_clients([system.client(url, index) for index in range(clients)])
    after = snapshot(url)
    cycles = sum(outcome.cycles for outcome in outcomes)
    finished = system.count_finished(url)
    # A benchmark that loses or doubles jobs measures nothing: refuse to report it.
    if cycles != jobs or finished != jobs:
        raise RuntimeError(
            f"{system_name} with {clients} clients: {count_of(jobs, 'job')} enqueued, "
            f"{cycles} cycles run, {finished} finished in the database"
        )
    return RunResult(
        system=system_name,
        clients=clients,
        cycles=cycles,
        seconds=seconds,
        # Linux reports ru_maxrss in KiB.
        peak_rss_bytes=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        backend_bytes_per_connection=sum(o.backend_bytes for o in outcomes) // len(outcomes),
        writes=per_cycle(url, before, after, cycles),
    )


def _run_clients(clients: Sequence[Client]) -> tuple[float, list[_ClientOutcome]]:
    """Run every client on its own thread; return the wall time of the cycles alone.

    Connections are opened before the clock starts and memory is read after it stops, so
    the timed window holds nothing but cycles, and ends when the last client runs dry.
    """
    started = threading.Barrier(len(clients) + 1, timeout=BARRIER_TIMEOUT_SECONDS)
    finished = threading.Barrier(len(clients) + 1, timeout=BARRIER_TIMEOUT_SECONDS)

    def drive(client: Client) -> _ClientOutcome:
        try:
            client.open()
            started.wait()
            cycles = client.work()
            finished.wait()
            return _ClientOutcome(cycles, client.backend_memory_bytes())
        except BaseException:
            # Release everyone waiting, the main thread included, so the failure surfaces.
            started.abort()
            finished.abort()
            raise
        finally:
            client.close()

    elapsed = 0.0
    with ThreadPoolExecutor(max_workers=len(clients)) as pool:
        futures = [pool.submit(drive, client) for client in clients]
        try:
            started.wait()
            start = time.perf_counter()
            finished.wait()
            elapsed = time.perf_counter() - start
        except threading.BrokenBarrierError:
            pass  # a client failed; _results raises its error below
    return elapsed, _results(futures)


def _results(futures: Sequence[Future[_ClientOutcome]]) -> list[_ClientOutcome]:
    """The outcomes, or the first real error (not the barrier breakage it caused)."""
    errors = [error for future in futures if (error := future.exception()) is not None]
    if errors:
        root = [e for e in errors if not isinstance(e, threading.BrokenBarrierError)]
        raise (root or errors)[0]
    return [future.result() for future in futures]
