"""What one side of one configuration measured, over one round or several."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bench.worker import sampler
from bench.worker.sampler import Usage

# The worker as it runs (lean browser), the same worker with BROWSER_LEAN=false (how it ran
# before: the full browser), and the bare Playwright loop.
WORKER, BEFORE, BARE = "worker", "before", "bare"


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


def combine(rounds: Sequence[SideResult]) -> SideResult:
    """The rounds of one side as one run: all submissions over all timed windows."""
    first = rounds[0]
    by_site: dict[str, list[float]] = {}
    for result in rounds:
        for site, seconds in result.seconds_by_site.items():
            by_site.setdefault(site, []).extend(seconds)
    return SideResult(
        first.side,
        first.contexts,
        sum(result.submissions for result in rounds),
        sum(result.seconds for result in rounds),
        sampler.combine([result.usage for result in rounds]),
        by_site,
    )
