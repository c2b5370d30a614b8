"""python -m bench.orchestrator: drain the queue over HTTP and directly, side by side."""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import functools
import os
import secrets
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench import common
from bench.orchestrator import direct_path, http_path, processes, report, server
from bench.orchestrator.report import BASELINE, DIRECT, HTTP
from bench.orchestrator.results import RunResult, RunSettings
from dbolt.sql import Queries
from dbolt.words import count_of

RESULTS_DIR = Path(__file__).resolve().parent.parent / "results"
DEFAULT_OUTPUT = RESULTS_DIR / "orchestrator.md"
Runner = Callable[[str, RunSettings], RunResult]


@dataclass(frozen=True)
class BenchPath:
    """One way to drain the queue, with the database it drains (fresh each time)."""

    name: str
    database: str
    run: Runner


def bench_paths(baseline: server.Checkout | None) -> list[BenchPath]:
    paths = [
        BenchPath(HTTP, "dbolt_bench_orchestrator_http", http_path.run),
        BenchPath(DIRECT, "dbolt_bench_orchestrator_sql", direct_path.run),
    ]
    if baseline is not None:
        run = functools.partial(http_path.run, checkout=baseline, path=BASELINE)
        paths.insert(1, BenchPath(BASELINE, "dbolt_bench_orchestrator_baseline", run))
    return paths


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def _worker_counts(text: str) -> tuple[int, ...]:
    """`64,256` → (64, 256): each count is its own set of rounds and its own table."""
    return tuple(_positive(part) for part in text.split(",") if part.strip())


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.orchestrator", description=__doc__)
    add = parser.add_argument
    add("--jobs", type=_positive, default=600, help="jobs per path, drained to empty (600)")
    add("--directories", type=_positive, default=3, help="directories per job (3)")
    add(
        "--workers",
        type=_worker_counts,
        default=(64, 256),
        help="concurrent simulated workers, comma-separated: one table per count (64,256)",
    )
    add(
        "--pool-size",
        type=_positive,
        default=8,
        help="database pool, every path (8, the orchestrator's default DB_POOL_MAX_SIZE)",
    )
    add("--rounds", type=_positive, default=3, help="rounds; the table shows the median (3)")
    add("--lease-seconds", type=_positive, default=300, help="lease per claim (300)")
    add(
        "--http-client",
        choices=("raw", "own", "shared"),
        default="raw",
        help="HTTP workers on a cheap client of prepared bytes, a connection each (raw: the"
        " least client CPU, so the ratio measures the orchestrator); each with its own httpx"
        " client and dbolt's worker client, as worker processes run (own); or all sharing one"
        " httpx client (shared)",
    )
    add(
        "--baseline",
        type=Path,
        help="another checkout (e.g. a worktree of main, with its own `make deps`) whose "
        "orchestrator runs beside this one's, in the same rounds, with its own venv",
    )
    add("--output", type=Path, default=DEFAULT_OUTPUT, help="where to write the Markdown")
    return parser.parse_args(argv)


def _settings(args: argparse.Namespace, workers: int) -> RunSettings:
    return RunSettings(
        jobs=args.jobs,
        directories=args.directories,
        workers=workers,
        pool_size=args.pool_size,
        lease_seconds=args.lease_seconds,
        # A token of its own: the orchestrator gets it through WORKER_TOKEN, nothing else does.
        worker_token=secrets.token_urlsafe(24),
        stats_interval_seconds=5.0,
        # Beside the Markdown: bench/results/orchestrator-server.log by default.
        server_log=args.output.with_name(f"{args.output.stem}-server.log"),
        http_client=args.http_client,
    )


def prepare(path: BenchPath, settings: RunSettings, queries: Queries) -> str:
    """A fresh clone of the migrated template, prefilled; not timed."""
    started = time.perf_counter()
    url = common.fresh_migrated(path.database)
    directory_ids = common.bench_directory_ids(settings.directories)
    common.prefill_jobs(url, queries, settings.jobs, directory_ids)
    print(
        f"  {path.name}: fresh database, {count_of(settings.jobs, 'job')} x "
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


def run_rounds(
    settings: RunSettings, paths: Sequence[BenchPath], rounds: int
) -> dict[str, list[RunResult]]:
    queries = Queries.load()
    runs: dict[str, list[RunResult]] = {path.name: [] for path in paths}
    for round_number in range(1, rounds + 1):
        # Rotate which path goes first, so drift on the machine lands on every path alike.
        shift = (round_number - 1) % len(paths)
        for path in [*paths[shift:], *paths[:shift]]:
            url = prepare(path, settings, queries)
            result = path.run(url, settings)
            verify(url, settings, result)
            runs[path.name].append(result)
            print(
                f"[{settings.workers} workers, {round_number}/{rounds}] "
                f"{report.progress_line(result)}",
                flush=True,
            )
    return runs


def main(argv: Sequence[str] | None = None) -> None:
    arguments = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(arguments)
    baseline = None if args.baseline is None else server.Checkout.at(args.baseline, "")
    if baseline is not None:
        baseline = dataclasses.replace(baseline, label=server.checkout_label(baseline.root))
    paths = bench_paths(baseline)
    started_at = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    print("bench.orchestrator: checking the local cluster and the migrated template…", flush=True)
    common.start_cluster()
    # Rebuilding a stale template takes a while; do it now rather than inside a round.
    common.fresh_migrated(paths[0].database)

    tables: list[report.WorkerCount] = []
    for workers in args.workers:
        runs = run_rounds(_settings(args, workers), paths, args.rounds)
        tables.append(
            report.WorkerCount(
                workers=workers,
                medians={name: _median(results) for name, results in runs.items()},
                runs=runs,
            )
        )

    context = report.Context(
        command=shlex.join(["python", "-m", "bench.orchestrator", *arguments]),
        started_at=started_at,
        server_version=common.server_version(),
        cpu_count=os.cpu_count() or 0,
        load_average=os.getloadavg(),
        jobs=args.jobs,
        directories=args.directories,
        pool_size=args.pool_size,
        checkout_timeout_seconds=RunSettings.checkout_timeout_seconds,
        rounds=args.rounds,
        http_client=args.http_client,
        this_checkout=server.checkout_label(server.ROOT),
        baseline=None if baseline is None else baseline.label,
        bench_peak_rss_bytes=processes.self_peak_rss_bytes(),
    )
    text = report.document(context, tables)
    print()
    print(text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print(f"written to {args.output}")


if __name__ == "__main__":
    main()
