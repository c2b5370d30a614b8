"""python -m bench.scale: a year of traffic (scaled down) against a nearly empty database.

Both databases are clones of the migrated template, seeded by the same set-based SQL
(bench/scale/seed.py): the empty one with one job, the year with 1,000,000 / scale jobs.
Every call runs on both, alternating (empty, year, year, empty, ...), and the table shows
the median of --repeat runs and the ratio against the goal (2x; jobs_next 1.5x).
"""

from __future__ import annotations

import argparse
import datetime
import os
import shlex
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import psycopg

from bench import common
from bench.scale import calls, seed
from dbolt.sql import Queries
from dbolt.words import noun_for

DEFAULT_OUTPUT = Path(__file__).resolve().parent.parent / "results" / "scale.md"
GOALS = {"jobs_next": 1.5}
DEFAULT_GOAL = 2.0

ENQUEUE_SQL = """
select count(*) from generate_series(1, %(jobs)s) as n,
       lateral jobs_enqueue(order_id => dev.create_paid_order(
         email => 'scale-pending-' || n || '@example.com', tier => 'starter'))
"""


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__)
    parser.add_argument(
        "--scale",
        type=_positive,
        default=100,
        help="the year divided by this: 100 seeds 10,000 jobs (default 100; 10 takes ~12 min)",
    )
    parser.add_argument("--repeat", type=_positive, default=7, help="runs per call, median (7)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="the Markdown table")
    return parser.parse_args(argv)


def prepare(name: str, jobs: int, claims: int) -> tuple[str, calls.Target, dict[str, int]]:
    url = common.fresh_migrated(name)
    seeded = seed.seed(url, jobs)
    with psycopg.connect(url, autocommit=True) as conn:
        # No tier cap in the way of the claims measured (its slot counter is still kept).
        conn.execute("update tiers set max_running = %s", (common.UNCAPPED_RUNNING,))
        conn.execute(ENQUEUE_SQL, {"jobs": claims})
        conn.execute("analyze jobs, job_directories, orders, customers")
        row = conn.execute(
            "select user_id from customers where email = %s", (seed.VIEWER_EMAIL,)
        ).fetchone()
    assert row is not None
    target = calls.Target(Queries.load(), uuid.UUID(seeded.viewer_job_id), row[0])
    return url, target, seeded.counts


def _timed(action: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = action()
    return (time.perf_counter() - started) * 1000, result


def measure(
    empty: tuple[str, calls.Target], year: tuple[str, calls.Target], repeat: int
) -> dict[str, tuple[float, float]]:
    """Median milliseconds per call on (empty, year), alternating which goes first."""
    samples: dict[str, tuple[list[float], list[float]]] = {}
    with (
        psycopg.connect(empty[0], autocommit=True) as e_conn,
        psycopg.connect(year[0], autocommit=True) as y_conn,
    ):
        sides = ((empty[1], e_conn), (year[1], y_conn))
        for call in calls.READS.values():
            for target, conn in sides:
                call(target, conn)  # warm: plans cached, pages read once
        for round_number in range(repeat + 1):
            order = (0, 1) if round_number % 2 == 0 else (1, 0)
            for side in order:
                target, conn = sides[side]
                next_ms, claim = _timed(partial(calls.jobs_next, target, conn))
                report_ms, _ = _timed(partial(calls.jobs_report_attempt, target, conn, claim))
                if round_number == 0:
                    continue  # the first claim and report on each side warm their plans
                samples.setdefault("jobs_next", ([], []))[side].append(next_ms)
                samples.setdefault("jobs_report_attempt", ([], []))[side].append(report_ms)
            if round_number == 0:
                continue
            for name, call in calls.READS.items():
                for side in order:
                    target, conn = sides[side]
                    ms, _ = _timed(partial(call, target, conn))
                    samples.setdefault(name, ([], []))[side].append(ms)
    return {name: (statistics.median(e), statistics.median(y)) for name, (e, y) in samples.items()}


def table(medians: dict[str, tuple[float, float]]) -> str:
    lines = [
        "| call | empty ms | year ms | ratio | goal | within |",
        "|---|---:|---:|---:|---:|:---:|",
    ]
    for name, (empty_ms, year_ms) in medians.items():
        ratio = year_ms / empty_ms if empty_ms else float("inf")
        goal = GOALS.get(name, DEFAULT_GOAL)
        lines.append(
            f"| {name} | {empty_ms:.2f} | {year_ms:.2f} | {ratio:.2f} | {goal:.1f}x |"
            f" {'yes' if ratio <= goal else 'NO'} |"
        )
    return "\n".join(lines)


def run(
    scale: int, repeat: int, prefix: str = "bench_scale"
) -> tuple[str, dict[str, tuple[float, float]]]:
    """The table's text and the medians. `prefix` names the two databases (a test's own)."""
    common.start_cluster()
    jobs = max(1, seed.YEAR_JOBS // scale)
    claims = repeat + 1
    started = time.perf_counter()
    year = prepare(f"{prefix}_year", jobs, claims)
    seed_seconds = time.perf_counter() - started
    empty = prepare(f"{prefix}_empty", 1, claims)
    medians = measure(empty[:2], year[:2], repeat)
    counts = ", ".join(f"{k} {v:,}" for k, v in year[2].items())
    header = (
        f"Scale 1/{scale} of a year ({jobs:,} {noun_for(jobs, 'job')};"
        f" seeded in {seed_seconds:.0f} s): {counts}.\n"
        f"Median of {repeat}, alternating; load {os.getloadavg()[0]:.2f} on"
        f" {os.cpu_count()} CPUs; PostgreSQL {common.server_version()}.\n"
    )
    return header + "\n" + table(medians), medians


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    command = shlex.join(["python", "-m", "bench.scale", *(argv or sys.argv[1:])])
    text, _ = run(args.scale, args.repeat)
    stamped = f"`{command}` at {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC\n\n{text}\n"
    print(stamped)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(stamped)


if __name__ == "__main__":
    main()
