"""python -m bench.dispatch: dispatch latency with Realtime up vs down, side by side."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bench import common
from bench.dispatch import report
from bench.dispatch.run import RunSettings, run

RESULTS_DIR = Path(__file__).resolve().parent.parent / "results"
DEFAULT_OUTPUT = RESULTS_DIR / "dispatch.md"
DATABASE = "dbolt_bench_dispatch"


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.dispatch", description=__doc__)
    add = parser.add_argument
    add("--jobs", type=int, default=50, help="jobs with Realtime up, over all rounds (50)")
    add("--polling-jobs", type=int, default=8, help="jobs with Realtime down (8)")
    add("--rounds", type=int, default=2, help="rounds, each Realtime up then down (2)")
    add("--workers", type=int, default=2, help="idle workers per phase (2)")
    add("--polling-idle", type=float, default=20.0, help="idle seconds before a polled job (20)")
    add("--output", type=Path, default=DEFAULT_OUTPUT, help="where to write the Markdown")
    return parser.parse_args(argv)


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    settings = RunSettings(
        jobs=args.jobs,
        polling_jobs=args.polling_jobs,
        rounds=args.rounds,
        workers=args.workers,
        polling_idle_seconds=args.polling_idle,
    )
    common.start_cluster()
    db_url = common.fresh_migrated(DATABASE)
    load_before = _load()
    with tempfile.TemporaryDirectory(prefix="bench-dispatch-") as tmp:
        results = run(db_url, Path(tmp), settings, lambda line: print(line, flush=True))
    command = (
        "make bench-dispatch"
        if argv is None and len(sys.argv) == 1
        else shlex.join(
            ["python", "-m", "bench.dispatch", *(sys.argv[1:] if argv is None else argv)]
        )
    )
    text = report.table(results, settings, f"before {load_before}, after {_load()}", command)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
