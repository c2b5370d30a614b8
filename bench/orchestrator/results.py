"""What one run of one path measured, and the settings both paths share."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from bench.orchestrator.drain import Drained


@dataclass(frozen=True)
class RunSettings:
    jobs: int
    directories: int
    workers: int
    pool_size: int
    lease_seconds: int
    worker_token: str
    stats_interval_seconds: float
    server_log: Path
    # How the HTTP path's simulated workers hold their httpx clients (see http_path).
    http_client: Literal["raw", "own", "shared"] = "raw"
    # The pool checkout timeout on every path (the orchestrator's DB_TIMEOUT_SECONDS, 3 s in
    # production). Longer here: 256 workers in a tight loop on a shared 2-CPU machine can
    # queue longer than 3 s for the pool, which the orchestrator answers with a 503 and the
    # benchmark would stop on; a wait that long shows up in the p99 instead.
    checkout_timeout_seconds: float = 30.0


@dataclass(frozen=True)
class ServerSide:
    """What the orchestrator process itself reported: memory and its own DB-call timings."""

    rss_at_rest_bytes: int
    peak_rss_bytes: int
    # Mean seconds inside the handler's database call (pool wait + query), from its own
    # Prometheus histograms: directorybolt_jobs_next/attempt_report_duration_seconds.
    jobs_next_db_seconds: float
    attempt_db_seconds: float


@dataclass(frozen=True)
class RunResult:
    path: str
    workers: int
    drained: Drained
    # CPU seconds inside the timed window: "machine" (all busy CPU time), "bench" (this
    # process), "postgres" (the pool's backends) and, on the HTTP path, "orchestrator".
    cpu: dict[str, float]
    # This process's RSS at the end of the drain, every simulated worker's client still open.
    bench_rss_bytes: int
    server: ServerSide | None = None

    @property
    def seconds(self) -> float:
        return self.drained.seconds

    @property
    def requests(self) -> int:
        return self.drained.latencies.requests

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.seconds

    @property
    def cycles_per_second(self) -> float:
        return self.drained.cycles / self.seconds
