"""The simulated worker loop both paths share, and the clock and latency records around it.

Both paths run this very loop over a `Door`, so the only difference between them is what
is behind the door: the orchestrator over HTTP, or the SQL functions over a pool.
"""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from dbolt.contracts import AttemptReport, Outcome


@dataclass(frozen=True)
class Claim:
    job_id: uuid.UUID
    lease_token: uuid.UUID
    directory_ids: tuple[str, ...]


def confirmed_success(claim: Claim, directory_id: str) -> AttemptReport:
    """The report both doors send: a confirmed success on the first attempt (the SQL door
    passes its `record()`, as the orchestrator's /attempts handler does)."""
    return AttemptReport(
        lease_token=claim.lease_token,
        directory_id=directory_id,
        attempt=1,
        outcome=Outcome.success,
        confirmed=True,
    )


class Door(Protocol):
    """One simulated worker's way to the queue."""

    async def claim(self) -> Claim | None:
        """The next job with its lease, or None when the queue has nothing to hand out."""

    async def report(self, claim: Claim, directory_id: str) -> None:
        """Report one confirmed successful attempt at a directory."""

    async def complete(self, claim: Claim) -> None:
        """Finish the job."""


@dataclass
class Latencies:
    """Seconds per request, by kind. `empty` is the jobs-next that found nothing (the 204)."""

    claim: list[float] = field(default_factory=list)
    empty: list[float] = field(default_factory=list)
    attempt: list[float] = field(default_factory=list)
    complete: list[float] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return len(self.claim) + len(self.empty) + len(self.attempt) + len(self.complete)

    @property
    def jobs_next(self) -> list[float]:
        return self.claim + self.empty


@dataclass(frozen=True)
class Drained:
    seconds: float
    cycles: int
    latencies: Latencies


def percentile(samples: Sequence[float], percent: float) -> float:
    """Nearest-rank percentile: a latency some request really had, never an interpolation."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    rank = max(1, math.ceil(percent / 100 * len(ordered)))
    return ordered[rank - 1]


def mean(samples: Sequence[float]) -> float:
    return sum(samples) / len(samples)


async def work(door: Door, latencies: Latencies) -> int:
    """Claim, report every directory, complete; until a claim comes back empty.

    Each latency is the whole round trip as the worker sees it, its own event loop's
    scheduling included: with 64 tasks on one loop that is part of what a worker waits.
    """
    cycles = 0
    while True:
        started = time.perf_counter()
        claim = await door.claim()
        if claim is None:
            latencies.empty.append(time.perf_counter() - started)
            return cycles
        latencies.claim.append(time.perf_counter() - started)
        for directory_id in claim.directory_ids:
            started = time.perf_counter()
            await door.report(claim, directory_id)
            latencies.attempt.append(time.perf_counter() - started)
        started = time.perf_counter()
        await door.complete(claim)
        latencies.complete.append(time.perf_counter() - started)
        cycles += 1


async def drain(doors: Sequence[Door]) -> Drained:
    """Every door's worker at once, until all have found the queue empty.

    A TaskGroup, so one worker's error cancels the others and surfaces instead of leaving
    them spinning on a half-drained queue; the first error is raised on its own, since the
    others are usually the same one again.
    """
    latencies = Latencies()
    started = time.perf_counter()
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(work(door, latencies)) for door in doors]
    except ExceptionGroup as errors:
        raise errors.exceptions[0] from errors
    seconds = time.perf_counter() - started
    return Drained(seconds, sum(task.result() for task in tasks), latencies)
