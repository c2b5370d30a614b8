"""What one run of one path measured."""

from __future__ import annotations

from dataclasses import dataclass

from bench.webhook.load import Level


@dataclass(frozen=True)
class ServerSide:
    """The webhook process's memory, and what its notifier did meanwhile."""

    rss_at_rest_bytes: int
    peak_rss_bytes: int
    # Emails the mail catcher caught while the run lasted (None with --notifier off).
    mails_caught: int | None


@dataclass(frozen=True)
class RunResult:
    path: str
    levels: list[Level]
    replay: Level
    # This process's RSS at the end of the run, every sender's connection still open.
    bench_rss_bytes: int
    server: ServerSide | None = None

    def level(self, concurrency: int) -> Level:
        return next(level for level in self.levels if level.concurrency == concurrency)
