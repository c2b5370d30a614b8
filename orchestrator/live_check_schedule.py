"""When listings are checked after hand-over (LIVE_CHECK_DELAYS), and putting that schedule
in the database (private.live_check_policy), where the checks are scheduled."""

from __future__ import annotations

import re
from datetime import timedelta

from orchestrator.state import AppState

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DELAY = re.compile(r"^(?P<count>\d+(?:\.\d+)?)(?P<unit>[smhdw])$")


def parse_delays(text: str) -> list[timedelta]:
    """`1h,1d,7d,30d` (units s, m, h, d, w) → the offsets; each later than the one before."""
    delays: list[timedelta] = []
    for entry in (e.strip().lower() for e in text.split(",")):
        match = _DELAY.match(entry)
        if match is None:
            raise ValueError(
                f"LIVE_CHECK_DELAYS: {entry!r} is not a delay like 90s, 15m, 1h, 1d or 2w"
            )
        delay = timedelta(seconds=float(match["count"]) * _UNITS[match["unit"]])
        if delay <= (delays[-1] if delays else timedelta(0)):
            raise ValueError(
                "LIVE_CHECK_DELAYS: each delay must be positive and later than the one before"
            )
        delays.append(delay)
    if not 1 <= len(delays) <= 20:
        raise ValueError("LIVE_CHECK_DELAYS: between 1 and 20 delays")
    return delays


async def apply_policy(state: AppState) -> None:
    """Idempotent: re-applied now and then, so a database restored from a backup gets it too."""
    s = state.settings
    await state.db.fetch_one(
        "listing_checks_set_policy",
        delays=parse_delays(s.live_check_delays),
        error_retry=timedelta(seconds=s.live_check_error_retry_seconds),
        max_errors=s.live_check_max_errors,
    )
