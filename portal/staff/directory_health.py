"""The staff directory health page's rows (staff_directory_health, migration 20261210000200),
shaped for the template: each directory's state (drifted, enabled, disabled), its last canary,
how old its baseline signature is, success and captcha rates as fractions for the rate bars,
its median attempt time and its drift history; and the words said after an action.

The actions (re-verify, enable, disable) are staff SQL functions run under the staff user's
JWT, each audited with their identity, as acknowledging an alert is: they change the
catalogue, not a job, so they do not go through the orchestrator.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from dbolt.words import count_of, duration

Action = Literal["reverify", "enable", "disable"]
DONE: dict[str, str] = {
    "reverify": "re-verified: its latest canary signature is the baseline and it is back in "
    "new jobs while enabled",
    "enable": "enabled",
    "disable": "disabled: no new job takes it",
}


def _fraction(value: Decimal | float | None) -> float | None:
    return None if value is None else float(value)


def state_of(row: Mapping[str, Any]) -> str:
    """drifted (out of new jobs until re-verified), enabled or disabled."""
    if row["drifted_at"] is not None:
        return "drifted"
    return "enabled" if row["enabled"] else "disabled"


def milliseconds(value: int | None) -> str:
    """`850 ms`, `12.4 s`; a dash when nothing was timed."""
    if value is None:
        return "—"
    return f"{value} ms" if value < 1000 else f"{value / 1000:.1f} s"


def health_row(row: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """One directory as the page shows it."""
    signed_at: datetime | None = row["signed_at"]
    return {
        **row,
        "state": state_of(row),
        "signature_age": None if signed_at is None else duration((now - signed_at).total_seconds()),
        "success_rate_7d": _fraction(row["success_rate_7d"]),
        "success_rate_30d": _fraction(row["success_rate_30d"]),
        "captcha_rate_30d": _fraction(row["captcha_rate_30d"]),
        "captcha_solved_rate_30d": _fraction(row["captcha_solved_rate_30d"]),
        "median": milliseconds(row["median_attempt_ms_30d"]),
        "drifts": count_of(int(row["drift_count"]), "drift"),
        "canary_runs_said": count_of(int(row["canary_runs"]), "canary run"),
    }


def page(rows: Sequence[Mapping[str, Any]], now: datetime) -> dict[str, Any]:
    """The page's rows (drifted first, as the SQL orders them) and its summary line."""
    shown = [health_row(row, now) for row in rows]
    drifted = sum(1 for r in shown if r["state"] == "drifted")
    enabled = sum(1 for r in shown if r["state"] == "enabled")
    return {
        "directories": shown,
        "summary": {
            "drifted": count_of(drifted, "directory", "directories"),
            "drifted_count": drifted,
            "enabled": count_of(enabled, "directory", "directories"),
            "total": count_of(len(shown), "directory", "directories"),
        },
    }
