"""python -m bench.queue: run every system at every client count and print the tables.

Each (system, clients) run happens in a freshly spawned process that imports only the
harness and that system's module, so the peak RSS it reports is its own.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import multiprocessing
import os
import shlex
import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from bench.queue import databases, report
from bench.queue.harness import SYSTEM_MODULES, RunResult, median_run, run_one

DEFAULT_OUTPUT = Path(__file__).resolve().parent.parent / "results" / "queue.md"


def _client_counts(text: str) -> list[int]:
    try:
        counts = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        message = f"--clients wants numbers like 1,4,16, got {text!r}"
        raise argparse.ArgumentTypeError(message) from None
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError("--clients wants at least one count, each 1 or more")
    return counts


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.queue", description=__doc__)
    parser.add_argument(
        "--jobs", type=_positive, default=400, help="jobs per run, drained to empty (400)"
    )
    parser.add_argument(
        "--clients", type=_client_counts, default=[1, 4, 16], help="client counts (1,4,16)"
    )
    parser.add_argument(
        "--repeat",
        type=_positive,
        default=3,
        help="runs of each system x clients; the table shows the median (3)",
    )
    parser.add_argument(
        "--output", type=Path, default=DEFAULT_OUTPUT, help="where to write the Markdown"
    )
    return parser.parse_args(argv)


def measure(system: str, jobs: int, clients: int) -> RunResult:
    # spawn, not fork: a forked child would inherit this process's memory and imports.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as executor:
        return executor.submit(run_one, system, jobs, clients).result()


def run_all(jobs: int, client_counts: Sequence[int], repeat: int) -> list[RunResult]:
    """Every system at every client count, `repeat` times; the median run of each."""
    runs: dict[tuple[str, int], list[RunResult]] = {}
    # Repeats outermost and systems innermost, so slow drift on the machine (or a noisy
    # neighbour) lands on all systems alike instead of on one of them.
    for round_number in range(1, repeat + 1):
        for clients in client_counts:
            for system in SYSTEM_MODULES:
                result = measure(system, jobs, clients)
                runs.setdefault((system, clients), []).append(result)
                print(f"[{round_number}/{repeat}] {report.progress_line(result)}", flush=True)
    return [median_run(group) for group in runs.values()]


def main(argv: Sequence[str] | None = None) -> None:
    arguments = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(arguments)
    started_at = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    print("bench.queue: checking the local cluster and the migrated template…", flush=True)
    databases.start_cluster()
    # Rebuilding a stale template takes a while; do it now rather than inside a timed run.
    databases.fresh_migrated("dbolt_bench_queue")

    results = run_all(args.jobs, args.clients, args.repeat)

    context = report.Context(
        jobs=args.jobs,
        repeat=args.repeat,
        command=shlex.join(["python", "-m", "bench.queue", *arguments]),
        started_at=started_at,
        server_version=databases.server_version(),
        cpu_count=os.cpu_count() or 0,
        procrastinate_version=importlib.metadata.version("procrastinate"),
    )
    text = report.document(context, results, args.clients)
    print()
    print(text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print(f"written to {args.output}")


if __name__ == "__main__":
    main()
