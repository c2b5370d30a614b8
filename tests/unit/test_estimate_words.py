"""The job page's estimate in words (portal/reports/progress.py), at the spans a customer
meets: nothing measured yet, under a minute, a minute, hours; and its counts for one
directory and for several."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from portal.reports.progress import build_progress, estimate_completion

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def _estimate(elapsed: timedelta, total: int, done: int) -> tuple[str, str]:
    estimate = estimate_completion("in_progress", NOW - elapsed, total, done, NOW)
    return estimate.text, estimate.basis


def test_no_time_measured_yet_promises_nothing() -> None:
    assert _estimate(timedelta(0), 3, 1) == (
        "Working on it.",
        "The estimate appears once the first directory is finished.",
    )
    assert _estimate(timedelta(minutes=5), 3, 0)[0] == "Working on it."


@pytest.mark.parametrize(
    ("elapsed", "total", "done", "text", "basis"),
    [
        (
            timedelta(seconds=30),
            2,
            1,
            "Less than a minute left (around 29 Nov 2026, 12:00 UTC).",
            "Estimated from the pace so far: 1 of 2 directories done since work started less "
            "than a minute ago, so the 1 directory left should go at the same pace.",
        ),
        (
            timedelta(seconds=60),
            2,
            1,
            "About 1 minute left (around 29 Nov 2026, 12:01 UTC).",
            "Estimated from the pace so far: 1 of 2 directories done since work started 1 "
            "minute ago, so the 1 directory left should go at the same pace.",
        ),
        (
            timedelta(hours=1, minutes=15),
            3,
            1,
            "About 2 hours 30 minutes left (around 29 Nov 2026, 14:30 UTC).",
            "Estimated from the pace so far: 1 of 3 directories done since work started 1 "
            "hour 15 minutes ago, so the 2 directories left should go at the same pace.",
        ),
    ],
)
def test_the_estimate_reads_naturally_at_every_span(
    elapsed: timedelta, total: int, done: int, text: str, basis: str
) -> None:
    assert _estimate(elapsed, total, done) == (text, basis)


def test_nothing_left_is_any_moment_now() -> None:
    assert _estimate(timedelta(minutes=3), 2, 2)[0] == "Any moment now."


def test_never_about_under_a_minute() -> None:
    for seconds in (1, 29, 59):
        text, basis = _estimate(timedelta(seconds=seconds), 2, 1)
        assert text.startswith("Less than a minute left"), text
        assert "under a minute" not in text + basis
        assert "About less" not in text
        assert "in the less" not in basis


@pytest.mark.parametrize(
    ("statuses", "said"),
    [
        (("queued",), "0 of 1 directory processed (0%)"),
        (("submitted",), "1 of 1 directory processed (100%)"),
        (("submitted", "queued", "queued"), "1 of 3 directories processed (33%)"),
    ],
)
def test_progress_counts_agree_with_their_noun(statuses: tuple[str, ...], said: str) -> None:
    job = {"id": "j", "status": "in_progress", "started_at": NOW - timedelta(minutes=1)}
    progress = build_progress(job, [{"status": s} for s in statuses], now=NOW)
    assert progress.progress_text == said
