"""python -m bench.worker: the worker and a bare Playwright loop, 1/2/4 contexts, side by side."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime
import importlib.metadata
import math
import os
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import FrameType

from bench import common
from bench.orchestrator.server import wait_for_pool
from bench.worker import queue_db, report, sites, stack
from bench.worker.results import BARE, BEFORE, WORKER, SideResult, combine
from bench.worker.run import Plan, Stack, run_bare, run_worker
from dbolt.words import count_of, noun_for

RESULTS_DIR = Path(__file__).resolve().parent.parent / "results"
DEFAULT_OUTPUT = RESULTS_DIR / "worker.md"
# Logs of every process and the worker's artifacts (there should be none), kept for a look.
RUN_DIR = RESULTS_DIR / "worker-run"
CHROMIUM = "/usr/lib/chromium/chromium"
HEADLESS_SHELL = "/usr/lib/chromium/chromium-headless-shell"
# A fixed-size pool, open before the clock starts, so its backends' CPU can be followed: one
# worker makes at most CONTEXTS + 1 requests at once (the lanes and the heartbeat).
ORCHESTRATOR_POOL = 6


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def _counts(text: str) -> tuple[int, ...]:
    values = tuple(_positive(part) for part in text.split(","))
    if len(set(values)) != len(values):
        raise argparse.ArgumentTypeError(f"each context count once, got {text}")
    return values


def _sites(text: str) -> tuple[str, ...]:
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [name for name in names if name not in sites.FILLERS]
    if unknown or not names:
        known = ", ".join(sites.FILLERS)
        raise argparse.ArgumentTypeError(
            f"unknown {noun_for(len(unknown), 'site')} {unknown}; choose from {known}"
        )
    return names


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.worker", description=__doc__)
    add = parser.add_argument
    add(
        "--submissions",
        type=_positive,
        default=32,
        help="per configuration and side over all rounds, rounded up to whole jobs of one"
        " business to every site (32: about 4 minutes in all on 2 CPUs; 120 for steadier"
        " numbers, ~12 minutes)",
    )
    add("--rounds", type=_positive, default=2, help="alternating rounds per configuration (2)")
    add("--contexts", type=_counts, default=(1, 2, 4), help="configurations (1,2,4)")
    add(
        "--sites",
        type=_sites,
        default=sites.DEFAULT_SITES,
        help=f"sandbox sites, comma-separated ({','.join(sites.DEFAULT_SITES)})",
    )
    add("--chromium", default=CHROMIUM, help=f"the full Chromium binary ({CHROMIUM})")
    add(
        "--headless-shell",
        default=HEADLESS_SHELL,
        help=f"Chromium's headless shell, the lean worker's browser ({HEADLESS_SHELL})",
    )
    add(
        "--before",
        choices=("full", "lean"),
        default="full",
        help="what the before side runs: full (BROWSER_LEAN=false, the full browser; the"
        " default) or lean (the headless shell without the memory flags,"
        " BROWSER_NETWORK_IN_PROCESS=false: an A/B of just those)",
    )
    add("--sample-interval", type=float, default=0.5, help="seconds between samples (0.5)")
    add("--timeout", type=float, default=600, help="seconds one side may take (600)")
    add("--output", type=Path, default=DEFAULT_OUTPUT, help="where to write the Markdown")
    return parser.parse_args(argv)


def _chromium_version(path: str) -> str:
    try:
        done = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return "Chromium (version unknown)"
    return done.stdout.strip() or "Chromium (version unknown)"


def _exit_on_sigterm(signum: int, _: FrameType | None) -> None:
    # SystemExit unwinds the with-blocks, so every process we started is stopped.
    raise SystemExit(128 + signum)


@contextlib.contextmanager
def running_stack(plan: Plan) -> Iterator[Stack]:
    """Sandbox, fresh database and orchestrator, up for the whole run."""
    sandbox_port, orchestrator_port = stack.free_port(), stack.free_port()
    sandbox_url = f"http://127.0.0.1:{sandbox_port}"
    orchestrator_url = f"http://127.0.0.1:{orchestrator_port}"
    # A token of its own: only the orchestrator and this run's workers know it.
    token = secrets.token_urlsafe(24)
    with stack.running(
        "sandbox",
        ["-m", "devstack.sandbox", "--port", str(sandbox_port), "--log-level", "WARNING"],
        {},
        plan.run_dir,
        ready_url=f"{sandbox_url}/_admin/submissions",
        base_url=sandbox_url,
    ) as sandbox:
        database_url = queue_db.prepare(sandbox_url, plan.sites)
        settings = {
            "DATABASE_URL": database_url,
            "HOST": "127.0.0.1",
            "PORT": str(orchestrator_port),
            "WORKER_TOKEN": token,
            "STAFF_API_KEY": secrets.token_urlsafe(24),
            "DB_POOL_MIN_SIZE": str(ORCHESTRATOR_POOL),
            "DB_POOL_MAX_SIZE": str(ORCHESTRATOR_POOL),
        }
        with stack.running(
            "orchestrator",
            ["-m", "orchestrator"],
            settings,
            plan.run_dir,
            ready_url=f"{orchestrator_url}/healthz",
            base_url=orchestrator_url,
        ) as orchestrator:
            postgres_pids = wait_for_pool(database_url, ORCHESTRATOR_POOL)
            yield Stack(database_url, sandbox, orchestrator, postgres_pids, token)


SIDES = (WORKER, BEFORE, BARE)


def _run_side(plan: Plan, up: Stack, side: str, count: int, number: int) -> SideResult:
    label = f"{side.capitalize()} C{count} R{number}"
    if side == BARE:
        return run_bare(plan, up, count, label)
    return run_worker(plan, up, count, label, lean=side == WORKER)


def _configuration(plan: Plan, up: Stack, count: int, rounds: int, turn: int) -> report.Pair:
    """The three sides at `count` contexts, in rounds. The order rotates from round to round
    (W F B, F B W, B W F, …): the load on a shared machine comes and goes, and short rotating
    runs spread it over every side instead of landing it on one."""
    runs: dict[str, list[SideResult]] = {side: [] for side in SIDES}
    for number in range(1, rounds + 1):
        shift = (turn + number) % len(SIDES)
        for side in SIDES[shift:] + SIDES[:shift]:
            result = _run_side(plan, up, side, count, number)
            runs[side].append(result)
            print(f"  round {number}/{rounds} {report.progress_line(result)}", flush=True)
    return report.Pair(count, *(combine(runs[side]) for side in SIDES))


def measure(plan: Plan, contexts: Sequence[int], rounds: int) -> list[report.Pair]:
    pairs = []
    with running_stack(plan) as up:
        # Unreported, but checked like the rest: one business to every site on each side
        # warms the page cache, the sandbox, the orchestrator and its Postgres backends.
        print(
            "  warm-up: one business to every site, bare loop and worker (lean and not)", flush=True
        )
        one = dataclasses.replace(plan, jobs=1)
        run_bare(one, up, 1, "Warmup Bare")
        run_worker(one, up, 1, "Warmup Worker")
        run_worker(one, up, 1, "Warmup Before", lean=False)
        for index, count in enumerate(contexts):
            print(f"[{index + 1}/{len(contexts)}] {count_of(count, 'context')}", flush=True)
            pairs.append(_configuration(plan, up, count, rounds, index))
    return pairs


def main(argv: Sequence[str] | None = None) -> None:
    arguments = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(arguments)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    # Jobs per round: every round of every side submits the same whole jobs.
    jobs = math.ceil(args.submissions / (len(args.sites) * args.rounds))
    plan = Plan(
        sites=args.sites,
        jobs=jobs,
        chromium=args.chromium,
        headless_shell=args.headless_shell,
        run_dir=RUN_DIR,
        timeout_seconds=args.timeout,
        sample_interval=args.sample_interval,
        before=args.before,
    )
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    started_at = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(
        f"bench.worker: {plan.submissions * args.rounds} submissions per side and configuration"
        f" ({args.rounds} rounds of {count_of(jobs, 'job')} x "
        f"{count_of(len(plan.sites), 'site')}), contexts"
        f" {list(args.contexts)}",
        flush=True,
    )
    shutil.rmtree(RUN_DIR, ignore_errors=True)
    common.start_cluster()

    pairs = measure(plan, args.contexts, args.rounds)

    context = report.Context(
        command=shlex.join(["python", "-m", "bench.worker", *arguments]),
        started_at=started_at,
        cpu_count=os.cpu_count() or 0,
        load_before=load,
        chromium_version=_chromium_version(args.chromium),
        playwright_version=importlib.metadata.version("playwright"),
        sites=plan.sites,
        jobs=jobs,
        rounds=args.rounds,
        submissions=plan.submissions * args.rounds,
        sample_interval=args.sample_interval,
        before=args.before,
    )
    text = report.document(context, pairs)
    print()
    print(text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print(f"written to {args.output}")


if __name__ == "__main__":
    main()
