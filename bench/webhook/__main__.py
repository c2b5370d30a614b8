"""python -m bench.webhook: apply signed Stripe events over HTTP and directly, side by side."""

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
from typing import Any

import psycopg

from bench import common
from bench.orchestrator import processes
from bench.webhook import direct_path, http_path, report
from bench.webhook.results import RunResult
from bench.webhook.settings import RunSettings

RESULTS_DIR = Path(__file__).resolve().parent.parent / "results"
DEFAULT_OUTPUT = RESULTS_DIR / "webhook.md"
LOG_DIR = RESULTS_DIR / "webhook-logs"
DATABASES = {"HTTP": "dbolt_bench_webhook_http", "direct SQL": "dbolt_bench_webhook_sql"}
Runner = Callable[[str, RunSettings], RunResult]
PATHS: dict[str, Runner] = {"HTTP": http_path.run, "direct SQL": direct_path.run}

TOTALS_SQL = """
select (select count(*) from stripe_events) as events,
       (select count(*) from stripe_events
         where processed_at is not null and outcome = 'order_paid') as applied,
       (select count(*) from orders where status = 'paid') as paid_orders
"""


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def _levels(text: str) -> tuple[int, ...]:
    try:
        levels = tuple(int(part) for part in text.split(","))
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"--concurrency: not a list of numbers: {text}") from error
    if not levels or min(levels) < 1 or len(set(levels)) != len(levels):
        raise argparse.ArgumentTypeError(f"--concurrency: distinct numbers >= 1, got {text}")
    return levels


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.webhook", description=__doc__)
    add = parser.add_argument
    add("--events", type=_positive, default=400, help="new events per level, per path (400)")
    add("--rounds", type=_positive, default=3, help="rounds; the table shows the median (3)")
    add("--concurrency", type=_levels, default=(1, 8, 32), help="levels, comma-separated (1,8,32)")
    add("--replay-concurrency", type=_positive, default=8, help="replay at this level (8)")
    add("--pool-size", type=_positive, default=10, help="database pool, both paths (10)")
    add(
        "--notifier",
        choices=("catcher", "off"),
        default="catcher",
        help="catcher: the notifier runs as in production, mail to a local catcher (default);"
        " off: Auth and SMTP at a closed port, so no email is composed",
    )
    add("--output", type=Path, default=DEFAULT_OUTPUT, help="where to write the Markdown")
    args = parser.parse_args(argv)
    if args.replay_concurrency not in args.concurrency:
        parser.error("--replay-concurrency must be one of the --concurrency levels")
    return args


def verify(url: str, settings: RunSettings, result: RunResult) -> None:
    """A run that lost or doubled an event measured nothing: refuse to report it."""
    expected = settings.events * len(settings.concurrencies)
    with psycopg.connect(url) as conn:
        row = conn.execute(TOTALS_SQL).fetchone()
    assert row is not None
    answers: list[dict[str, Any]] = [a for level in result.levels for a in level.answers]
    seen = {
        "stripe_events rows": (int(row[0]), expected),
        "applied events": (int(row[1]), expected),
        "paid orders": (int(row[2]), expected),
        "answers order_paid": (
            sum(1 for a in answers if a.get("outcome") == "order_paid" and not a["duplicate"]),
            expected,
        ),
        "replays answered duplicate": (
            sum(1 for a in result.replay.answers if a.get("duplicate") is True),
            settings.events,
        ),
    }
    wrong = [f"{name} {got} (expected {want})" for name, (got, want) in seen.items() if got != want]
    if wrong:
        raise SystemExit(f"refusing to report: the {result.path} run ended with {', '.join(wrong)}")


def _line(result: RunResult) -> str:
    parts = [
        f"c={level.concurrency} {level.per_second:.0f}/s p50 {level.p50_ms:.1f} ms "
        f"p99 {level.p99_ms:.1f} ms"
        for level in result.levels
    ]
    parts.append(f"replay {result.replay.per_second:.0f}/s")
    return f"{result.path}: " + "; ".join(parts)


def run_rounds(settings: RunSettings, rounds: int) -> dict[str, list[RunResult]]:
    runs: dict[str, list[RunResult]] = {path: [] for path in PATHS}
    for round_number in range(1, rounds + 1):
        # Alternate which path goes first, so drift on the machine lands on both alike.
        order = list(PATHS) if round_number % 2 else list(reversed(PATHS))
        for path in order:
            started = time.perf_counter()
            url = common.fresh_migrated(DATABASES[path])
            result = PATHS[path](url, settings)
            verify(url, settings, result)
            runs[path].append(result)
            took = time.perf_counter() - started
            print(f"[{round_number}/{rounds}] {_line(result)} ({took:.1f} s)", flush=True)
    return runs


def main(argv: Sequence[str] | None = None) -> None:
    arguments = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(arguments)
    settings = RunSettings(
        events=args.events,
        concurrencies=args.concurrency,
        replay_concurrency=args.replay_concurrency,
        pool_size=args.pool_size,
        # A secret of its own: the webhook gets it through STRIPE_WEBHOOK_SECRET only.
        webhook_secret="whsec_" + secrets.token_urlsafe(24),
        notifier=args.notifier,
        log_dir=LOG_DIR,
    )
    started_at = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    print("bench.webhook: checking the local cluster and the migrated template…", flush=True)
    common.start_cluster()
    # Rebuilding a stale template takes a while; do it now rather than inside a round.
    common.fresh_migrated(DATABASES["HTTP"])

    runs = run_rounds(settings, args.rounds)

    context = report.Context(
        command=shlex.join(["python", "-m", "bench.webhook", *arguments]),
        started_at=started_at,
        server_version=common.server_version(),
        cpu_count=os.cpu_count() or 0,
        events=args.events,
        concurrencies=args.concurrency,
        replay_concurrency=args.replay_concurrency,
        pool_size=args.pool_size,
        rounds=args.rounds,
        notifier=args.notifier,
        bench_peak_rss_bytes=processes.self_peak_rss_bytes(),
    )
    text = report.document(context, runs["HTTP"], runs["direct SQL"])
    print()
    print(text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print(f"written to {args.output}")


if __name__ == "__main__":
    main()
