"""dbolt.words: the one place counts and spans of time are put into words."""

from __future__ import annotations

import pytest

from dbolt.words import about_duration, count_of, duration, noun_for


@pytest.mark.parametrize(
    ("count", "noun", "said"),
    [
        (1, "directory", "1 directory"),
        (0, "directory", "0 directories"),
        (24, "directory", "24 directories"),
        (2, "day", "2 days"),
        (1, "listing", "1 listing"),
        (3, "business", "3 businesses"),
    ],
)
def test_counts_agree_with_their_noun(count: int, noun: str, said: str) -> None:
    assert count_of(count, noun) == said


def test_an_explicit_plural_wins() -> None:
    assert noun_for(2, "directory needs", "directories need") == "directories need"
    assert noun_for(1, "directory needs", "directories need") == "directory needs"


@pytest.mark.parametrize(
    ("seconds", "said"),
    [
        (0, "less than a minute"),
        (59.9, "less than a minute"),
        (60, "1 minute"),
        (61, "2 minutes"),
        (3600, "1 hour"),
        (3 * 3600 + 60, "3 hours 1 minute"),
        (47 * 3600, "47 hours"),
        (5 * 86400, "5 days"),
        (-5, "less than a minute"),
    ],
)
def test_durations(seconds: float, said: str) -> None:
    assert duration(seconds) == said


def test_about_is_never_put_before_less_than() -> None:
    assert about_duration(30) == "less than a minute"
    assert about_duration(600) == "about 10 minutes"
