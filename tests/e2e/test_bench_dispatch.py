"""bench/dispatch at a tiny size, so it cannot rot: two jobs woken through Realtime, one
found by polling (with a short poll), and the table it prints. Never asserts speed."""

from __future__ import annotations

from pathlib import Path

from bench.dispatch import report
from bench.dispatch.run import REALTIME_DOWN, REALTIME_UP, RunSettings, run
from bench.dispatch.stack import PollSettings


def test_bench_dispatch_runs_at_a_tiny_size(db_url: str, tmp_path: Path) -> None:
    settings = RunSettings(
        jobs=2,
        polling_jobs=1,
        rounds=1,
        workers=1,
        settle_seconds=0.2,
        polling_idle_seconds=0.2,
        polls=PollSettings(poll_min=0.2, poll_max=0.5, realtime_poll=30.0),
    )
    results = run(db_url, tmp_path, settings, say=lambda _line: None)

    up, down = results[REALTIME_UP], results[REALTIME_DOWN]
    assert (len(up.to_start), len(down.to_start)) == (2, 1)
    # Saved before claimed before started, for every job.
    for samples in (up, down):
        for to_claim, to_start in zip(samples.to_claim, samples.to_start, strict=True):
            assert 0 < to_claim <= to_start
    text = report.table(results, settings, "test", "pytest")
    assert "| Realtime up | 2 |" in text
    assert "| Realtime down (polling) | 1 |" in text
    assert "POLL_MAX_SECONDS = 0.5 s" in text
