"""python -m bench.orchestrator: drain the queue over HTTP and directly, side by side."""

from __future__ import annotations

import argparse
import datetime
import os
import secrets
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from bench import common
from bench.orchestrator import direct_path, http_path, processes, report
from bench.orchestrator.results import RunResult, RunSettings
from dbolt.sql import Queries
from dbolt.words import count_of

RESULTS_DIR = Path(__file__).resolve().parent.parent / "results"
DEFAULT_OUTPUT = RESULTS_DIR / "orchestrator.md"
SERVER_LOG = RESULTS_DIR / "orchestrator-server.log"
DATABASES = {"HTTP": "dbolt_bench_orchestrator_http", "direct SQL": "dbolt_bench_orchestrator_sql"}
Runner = Callable[[str, RunSettings], RunResult]
PATHS: dict[str, Runner] = {"HTTP": http_path.run, "direct SQL": direct_path.run}


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.orchestrator", description=__doc__)
    add = parser.add_argument
    add("--jobs", type=_positive, default=600, help="jobs per path, drained to empty (600)")
    add("--directories", type=_positive, default=3, help="directories per job (3)")
    add("--workers", type=_positive, default=64, help="concurrent simulated workers (64)")
    add("--pool-size", type=_positive, default=20, help="database pool, both paths (20)")
    add("--rounds", type=_positive, default=3, help="rounds; the table shows the median (3)")
    add("--lease-seconds", type=_positive, default=300, help="lease per claim (300)")
    add(
        "--http-client",
        choices=("own", "shared"),
        default="own",
        help="each HTTP worker with its own httpx client, as worker processes run (own), or"
        " all sharing one client with a connection each (shared)",
    )
    add("--output", type=Path, default=DEFAULT_OUTPUT, help="where to write the Markdown")
    return parser.parse_args(argv)


def _settings(args: argparse.Namespace) -> RunSettings:
    return RunSettings(
        jobs=args.jobs,
        directories=args.directories,
        workers=args.workers,
        pool_size=args.pool_size,
        lease_seconds=args.lease_seconds,
        # A token of its own: the orchestrator gets it through WORKER_TOKEN, nothing else does.
        worker_token=secrets.token_urlsafe(24),
        stats_interval_seconds=5.0,
        server_log=SERVER_LOG,
        http_client=args.http_client,
    )


def prepare(path: str, settings: RunSettings, queries: Queries) -> str:
    """A fresh clone of the migrated template, prefilled; not timed."""
    started = time.perf_counter()
    url = common.fresh_migrated(DATABASES[path])
    directory_ids = common.bench_directory_ids(settings.directories)
    common.prefill_jobs(url, queries, settings.jobs, directory_ids)
    print(
        f"  {path}: fresh database, {count_of(settings.jobs, 'job')} x "
        f"{count_of(settings.directories, 'directory')} "
        f"in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    return url


def verify(url: str, settings: RunSettings, result: RunResult) -> None:
    """A run that lost, doubled or half-finished a job measured nothing: refuse to report it."""
    totals = common.queue_totals(url)
    attempts = settings.jobs * settings.directories
    latencies = result.drained.latencies
    seen = {
        "cycles": (result.drained.cycles, settings.jobs),
        "claims": (len(latencies.claim), settings.jobs),
        "attempt requests": (len(latencies.attempt), attempts),
        "jobs": (totals.jobs, settings.jobs),
        "complete jobs": (totals.complete, settings.jobs),
        "job_results rows": (totals.results, attempts),
        "job_directories rows": (totals.directories, attempts),
        "submitted directories": (totals.submitted, attempts),
    }
    wrong = [f"{name} {got} (expected {want})" for name, (got, want) in seen.items() if got != want]
    if wrong:
        problems = ", ".join(wrong)
        raise SystemExit(f"refusing to report: the {result.path} run ended with {problems}")


def _median(runs: Sequence[RunResult]) -> RunResult:
    """The run with the median throughput (the lower one of an even count)."""
    ordered = sorted(runs, key=lambda run: run.requests_per_second)
    return ordered[(len(ordered) - 1) // 2]


def run_rounds(settings: RunSettings, rounds: int) -> dict[str, list[RunResult]]:
    queries = Queries.load()
    runs: dict[str, list[RunResult]] = {path: [] for path in PATHS}
    for round_number in range(1, rounds + 1):
        # Alternate which path goes first, so drift on the machine lands on both alike.
        order = list(PATHS) if round_number % 2 else list(reversed(PATHS))
        for path in order:
            url = prepare(path, settings, queries)
            result = PATHS[path](url, settings)
            verify(url, settings, result)
            runs[path].append(result)
            print(f"[{round_number}/{rounds}] {report.progress_line(result)}", flush=True)
    return runs


def main(argv: Sequence[str] | None = None) -> None:
    arguments = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(arguments)
    settings = _settings(args)
    started_at = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    print("bench.orchestrator: checking the local cluster and the migrated template…", flush=True)
    common.start_cluster()
    # Rebuilding a stale template takes a while; do it now rather than inside a round.
    common.fresh_migrated(DATABASES["HTTP"])

    runs = run_rounds(settings, args.rounds)

    context = report.Context(
        command=shlex.join(["python", "-m", "bench.orchestrator", *arguments]),
        started_at=started_at,
        server_version=common.server_version(),
        cpu_count=os.cpu_count() or 0,
        jobs=args.jobs,
        directories=args.directories,
        workers=args.workers,
        pool_size=args.pool_size,
        rounds=args.rounds,
        http_client=args.http_client,
        bench_peak_rss_bytes=processes.self_peak_rss_bytes(),
    )
    http, direct = _median(runs["HTTP"]), _median(runs["direct SQL"])
    text = report.document(context, http, direct, runs["HTTP"], runs["direct SQL"])
    print()
    print(text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print(f"written to {args.output}")


if __name__ == "__main__":
    main()
