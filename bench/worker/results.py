"""What one side of one configuration measured."""

from __future__ import annotations

from dataclasses import dataclass

from bench.worker.sampler import Usage

WORKER, BARE = "worker", "bare"


@dataclass(frozen=True)
class SideResult:
    side: str
    contexts: int
    submissions: int
    seconds: float
    usage: Usage
    # Seconds per submission by site: the worker's attempt durations (browser work only,
    # as it reports them) and the bare loop's own.
    seconds_by_site: dict[str, list[float]]

    @property
    def per_minute(self) -> float:
        return self.submissions / self.seconds * 60
