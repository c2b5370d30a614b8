"""/metrics for Prometheus and /healthz for load balancers and people."""

from __future__ import annotations

import contextlib
import time
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from dbolt.sql import DatabaseUnavailable
from orchestrator.dependencies import State

router = APIRouter(tags=["ops"])


@router.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
async def metrics(state: State) -> Response:
    """Prometheus text format; every name starts with directorybolt_."""
    return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)


def health(state: State) -> dict[str, Any]:
    db = state.db
    stats = state.snapshot.stats
    throttled = sorted(t for t, v in stats.get("tiers", {}).items() if v.get("throttled"))
    degraded = sorted(state.degraded or ())
    return {
        "status": "ok" if db.reachable else "unhealthy",
        "uptime_seconds": round(time.monotonic() - state.started_at, 1),
        "database": {
            "reachable": db.reachable,
            "last_error": None if db.reachable else db.last_error,
            "unreachable_for_seconds": (
                round(time.monotonic() - db.unreachable_since, 1) if db.unreachable_since else None
            ),
        },
        "queue": {
            "depth": stats.get("jobs", {}),
            "oldest_pending_seconds": stats.get("oldest_pending_seconds"),
        },
        "workers": {"healthy": state.workers.healthy, "stale": state.workers.stale},
        "dispatch": {
            "paused": not db.reachable,
            "reason": None if db.reachable else "database unreachable",
            "throttled_tiers": throttled,
        },
        "degraded_providers": degraded,
        "desired_workers": state.snapshot.desired_workers,
    }


@router.get("/healthz")
async def healthz(state: State) -> JSONResponse:
    """200 when the service can do its job; 503 (and why) when it cannot."""
    # Ask the database now rather than trusting the last loop round: a load balancer must
    # see an outage the moment it starts.
    # A failure is recorded by the Database and reported in the body below.
    with contextlib.suppress(DatabaseUnavailable):
        await state.db.fetch_one("database_ping")
    body = health(state)
    return JSONResponse(body, status_code=200 if state.db.reachable else 503)
