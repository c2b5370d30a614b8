"""LIVE_CHECK_DELAYS: the schedule of live checks, refused at start-up when it is not one."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from orchestrator.live_check_schedule import parse_delays
from orchestrator.settings import OrchestratorSettings


def test_the_default_schedule_is_an_hour_a_day_a_week_and_a_month() -> None:
    assert parse_delays(OrchestratorSettings(environment="test").live_check_delays) == [
        timedelta(hours=1),
        timedelta(days=1),
        timedelta(days=7),
        timedelta(days=30),
    ]


def test_tests_use_seconds() -> None:
    assert parse_delays(" 2s, 60s ,1.5m,1w") == [
        timedelta(seconds=2),
        timedelta(seconds=60),
        timedelta(seconds=90),
        timedelta(weeks=1),
    ]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("1h,1x", "'1x' is not a delay"),
        ("1d,1h", "later than the one before"),
        ("0s", "positive"),
        ("", "'' is not a delay"),
    ],
)
def test_a_bad_schedule_is_refused_naming_the_variable(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_delays(text)
    with pytest.raises(ValidationError, match="LIVE_CHECK_DELAYS"):
        OrchestratorSettings(environment="test", live_check_delays=text)
