"""python -m bench.queue.backend_cpu: the CPU our queue's Postgres backend spends per cycle,
for schema variants side by side, alternating (A, B, A, B) in one run.

Wall-clock throughput on a shared machine swings with the neighbours' load; the CPU time the
backend itself was given (utime + stime of its process, /proc/<pid>/stat) swings far less,
so it is what tells two versions of the SQL functions apart. Each variant is the migrated
template plus an optional SQL file applied before the prefill, e.g. what a migration under
review would change, or an experiment such as disabling a trigger:

    python -m bench.queue.backend_cpu base= candidate=path/to/change.sql

Needs the server on this host (it reads the backend's /proc entry). One client, `--jobs`
cycles per run; prints each run, then the median per variant.
"""

from __future__ import annotations

import argparse
import os
import statistics
from collections.abc import Sequence
from pathlib import Path

import psycopg

from bench.queue.ours import Ours
from dbolt.words import count_of


def backend_cpu_seconds(pid: int) -> float:
    """utime + stime of a process, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one_run(sql: str, jobs: int) -> tuple[float, float]:
    """(backend CPU ms per cycle, cycles per second) of one fresh database."""
    system = Ours()
    url = system.create_database()
    if sql:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql.encode())
    system.prefill(url, jobs)
    client = system.client(url, 0)
    client.open()
    try:
        pid = client.conn.info.backend_pid
        cpu_before = backend_cpu_seconds(pid)
        clock_before = os.times().elapsed
        cycles = client.work()
        elapsed = os.times().elapsed - clock_before
        cpu = backend_cpu_seconds(pid) - cpu_before
    finally:
        client.close()
    if cycles != jobs:
        raise RuntimeError(f"{count_of(jobs, 'job')} enqueued, {count_of(cycles, 'cycle')} run")
    return cpu * 1000 / cycles, cycles / elapsed


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.queue.backend_cpu", description=__doc__)
    parser.add_argument("variants", nargs="+", help="name=file.sql, or name= for the template")
    parser.add_argument("--jobs", type=int, default=150, help="cycles per run (150)")
    parser.add_argument("--rounds", type=int, default=4, help="runs of each variant (4)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    variants: dict[str, str] = {}
    for spec in args.variants:
        name, _, path = spec.partition("=")
        variants[name] = Path(path).read_text() if path else ""
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
    for round_number in range(1, args.rounds + 1):
        for name, sql in variants.items():
            cpu_ms, rate = one_run(sql, args.jobs)
            runs[name].append((cpu_ms, rate))
            print(
                f"[{round_number}/{args.rounds}] {name:<12} backend {cpu_ms:6.2f} ms/cycle"
                f"  {rate:7.1f} cycles/s",
                flush=True,
            )
    for name, results in runs.items():
        median_cpu = statistics.median(cpu for cpu, _ in results)
        print(f"{name:<12} median backend CPU {median_cpu:6.2f} ms/cycle")


if __name__ == "__main__":
    main()
