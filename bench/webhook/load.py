"""The sender loop both paths share: `concurrency` tasks taking the next event off one list
until it is empty, each timing its own round trip."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from bench.orchestrator.drain import percentile

T = TypeVar("T")
MS = 1000.0


@dataclass(frozen=True)
class Level:
    """One burst of events at one concurrency: wall time, per-event latency, the answers."""

    kind: str  # "apply" or "replay"
    concurrency: int
    seconds: float
    latencies: list[float]
    answers: list[dict[str, Any]]

    @property
    def per_second(self) -> float:
        return len(self.latencies) / self.seconds

    @property
    def p50_ms(self) -> float:
        return percentile(self.latencies, 50) * MS

    @property
    def p99_ms(self) -> float:
        return percentile(self.latencies, 99) * MS


async def run_level(
    kind: str, items: Sequence[T], senders: Sequence[Callable[[T], Awaitable[dict[str, Any]]]]
) -> Level:
    """Every item sent once, by as many tasks as there are senders (each with its own
    connection). A TaskGroup, so one sender's error stops the rest and surfaces."""
    pending = list(reversed(items))
    latencies: list[float] = []
    answers: list[dict[str, Any]] = []

    async def sender(send: Callable[[T], Awaitable[dict[str, Any]]]) -> None:
        while pending:
            item = pending.pop()
            started = time.perf_counter()
            answer = await send(item)
            latencies.append(time.perf_counter() - started)
            answers.append(answer)

    started = time.perf_counter()
    try:
        async with asyncio.TaskGroup() as group:
            for send in senders:
                group.create_task(sender(send))
    except ExceptionGroup as errors:
        raise errors.exceptions[0] from errors
    return Level(kind, len(senders), time.perf_counter() - started, latencies, answers)
