"""The queue as the dashboard shows it: job counts, workers, throttling and the orchestrator's
dispatch state (portal_staff_queue_status plus the orchestrator's health), and open alerts."""

from __future__ import annotations

from typing import Any

from portal.staff import orchestrator
from portal.state import PortalState
from portal.viewer import Viewer

# A worker silent for longer than this is shown as stale.
STALE_WORKER_SECONDS = 120


async def queue_status(state: PortalState, viewer: Viewer) -> dict[str, Any]:
    async with state.db.as_viewer(viewer) as q:
        row = await q.fetch_one("queue_status", stale_seconds=STALE_WORKER_SECONDS)
    assert row is not None
    status: dict[str, Any] = row["status"]
    health = await orchestrator.health(state)
    if health is None:
        dispatch: dict[str, Any] = {
            "known": False,
            "paused": None,
            "reason": "the orchestrator is unreachable",
        }
    else:
        paused = bool(health.get("dispatch", {}).get("paused"))
        dispatch = {
            "known": True,
            "paused": paused,
            "reason": health.get("dispatch", {}).get("reason"),
            "degraded_providers": health.get("degraded_providers") or [],
        }
    status["dispatch"] = dispatch
    return status


def jsonable(value: Any) -> Any:
    """The status as JSON: anything not a JSON value (timestamps, decimals) as its str()."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


async def alerts(state: PortalState, viewer: Viewer) -> list[dict[str, Any]]:
    async with state.db.as_viewer(viewer) as q:
        return await q.fetch_all("alerts_list_recent", limit=50)
