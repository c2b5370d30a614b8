"""The measurement: phases alternating Realtime up / Realtime down (A, B, A, B), each with
its own idle workers, one job at a time so every job finds them idle."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.dispatch import timeline
from bench.dispatch.stack import DIRECTORY, PollSettings, start_workers
from dbolt.words import count_of
from tests.support.e2e_stack import running_stack

REALTIME_UP = "Realtime up"
REALTIME_DOWN = "Realtime down (polling)"


@dataclass(frozen=True)
class RunSettings:
    jobs: int = 50  # with Realtime up, over all rounds
    polling_jobs: int = 8  # with Realtime down, over all rounds
    rounds: int = 2
    workers: int = 2
    # Before each job: how long the workers have been idle. With Realtime down the poll
    # interval grows while idle, so this decides which interval a job meets.
    settle_seconds: float = 0.5
    polling_idle_seconds: float = 20.0
    polls: PollSettings = field(default_factory=PollSettings)
    job_timeout: float = 120.0


@dataclass
class Samples:
    to_claim: list[float] = field(default_factory=list)
    to_start: list[float] = field(default_factory=list)


def percentile(values: list[float], p: float) -> float:
    """Nearest rank: the smallest value with at least p % of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def _split(total: int, rounds: int) -> list[int]:
    return [total // rounds + (1 if n < total % rounds else 0) for n in range(rounds)]


def run(
    db_url: str, tmp: Path, settings: RunSettings, say: Callable[[str], None] = print
) -> dict[str, Samples]:
    results = {REALTIME_UP: Samples(), REALTIME_DOWN: Samples()}
    counter = 0
    with running_stack(db_url, tmp, slow_delay=0.5) as stack:
        stack.sync_sandbox_directories(only={DIRECTORY})
        per_round_up = _split(settings.jobs, settings.rounds)
        per_round_down = _split(settings.polling_jobs, settings.rounds)
        for n in range(settings.rounds):
            for label, jobs, realtime, idle in (
                (REALTIME_UP, per_round_up[n], True, settings.settle_seconds),
                (REALTIME_DOWN, per_round_down[n], False, settings.polling_idle_seconds),
            ):
                if jobs == 0:
                    continue
                phase = f"{'up' if realtime else 'down'}{n + 1}"
                workers = start_workers(
                    stack, phase, settings.workers, realtime=realtime, polls=settings.polls
                )
                try:
                    for _ in range(jobs):
                        counter += 1
                        order = timeline.new_order(db_url, counter)
                        time.sleep(idle)
                        saved_at = timeline.save_form(db_url, order)
                        got = timeline.wait_dispatched(
                            db_url, order.id, saved_at, settings.job_timeout
                        )
                        results[label].to_claim.append(got.to_claim)
                        results[label].to_start.append(got.to_start)
                        workers.wait_idle("realtime" if realtime else "polling")
                finally:
                    workers.stop()
                say(f"round {n + 1}: {label}: {count_of(jobs, 'job')} done")
    return results
