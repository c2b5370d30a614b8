"""The staff dashboard under /staff. Every page and action needs a staff user (StaffViewer):
signed-out visitors are sent to sign in, everyone else gets 403.

Reads run under the staff user's JWT (RLS and the staff_* SQL functions); interventions go
through the orchestrator's staff API with the staff user's email as actor. Parts of each page
refresh themselves when the live feed (SSE from Realtime topic `staff`) says something
changed: each has a fragment URL the page re-reads.
"""

from __future__ import annotations

import math
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Path, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, StreamingResponse
from starlette.responses import Response

from dbolt.sql import NotFound
from portal.dependencies import PortalStateDep, StaffViewer
from portal.staff import artifacts, charts, live, orchestrator
from portal.state import PortalState
from portal.templating import render, templates
from portal.viewer import Viewer

router = APIRouter(prefix="/staff", tags=["staff"])

JOB_STATUSES = ("pending", "in_progress", "paused", "complete", "failed", "cancelled")
TIERS = ("starter", "growth", "professional", "enterprise")
PAGE_SIZE = 25
STALE_WORKER_SECONDS = 120
JobId = Annotated[uuid.UUID, Path(description="The job's id")]


# -- template filters (namespaced staff_*) -------------------------------------------------------
def _time(value: object) -> str:
    if value is None or value == "":
        return "—"
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _duration(value: object) -> str:
    seconds = int(float(str(value or 0)))
    if seconds <= 0:
        return "none waiting"
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {seconds} s" if minutes else f"{seconds} s"


_GOOD = {"complete", "submitted", "live", "success"}
_BAD = {"failed", "cancelled", "permanent_error"}
_WARN = {"paused", "needs_action", "needs_review", "transient_error"}


def _status_class(value: object) -> str:
    text = str(value)
    if text in _GOOD:
        return "status-ok"
    if text in _BAD:
        return "status-bad"
    return "status-warn" if text in _WARN else ""


templates.env.filters.update(
    staff_time=_time, staff_duration=_duration, staff_status_class=_status_class
)


# -- reads ------------------------------------------------------------------------------------
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


async def alerts(state: PortalState, viewer: Viewer) -> list[dict[str, Any]]:
    async with state.db.as_viewer(viewer) as q:
        return await q.fetch_all("alerts_list_recent", limit=50)


class Filters:
    """The jobs list's filters, parsed from the query string with errors naming the field."""

    def __init__(self, request: Request) -> None:
        params = request.query_params
        self.errors: dict[str, str] = {}
        self.status = self._choice(params.get("status"), "status", JOB_STATUSES)
        self.tier = self._choice(params.get("tier"), "tier", TIERS)
        self.customer = self._text(params.get("customer"), "customer")
        self.search = self._text(params.get("q"), "q")
        self.created_from = self._date(params.get("from"), "from")
        self.created_to = self._date(params.get("to"), "to")
        page = (params.get("page") or "1").strip()
        if page.isdigit() and 1 <= int(page) <= 100_000:
            self.page = int(page)
        else:
            self.page = 1
            self.errors["page"] = "page must be a whole number from 1"

    def _choice(self, value: str | None, field: str, allowed: tuple[str, ...]) -> str | None:
        if not value:
            return None
        if value not in allowed:
            self.errors[field] = f"{field} must be one of: {', '.join(allowed)}"
            return None
        return value

    def _text(self, value: str | None, field: str) -> str | None:
        value = (value or "").replace("\x00", "").strip()
        if len(value) > 200:
            self.errors[field] = f"{field} must be at most 200 characters"
            return None
        return value or None

    def _date(self, value: str | None, field: str) -> date | None:
        if not value:
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            self.errors[field] = f"{field} must be a date (YYYY-MM-DD)"
            return None

    def query(self, **overrides: Any) -> str:
        values = {
            "status": self.status,
            "tier": self.tier,
            "customer": self.customer,
            "q": self.search,
            "from": self.created_from.isoformat() if self.created_from else None,
            "to": self.created_to.isoformat() if self.created_to else None,
            "page": self.page,
        }
        values.update(overrides)
        return urlencode(
            {
                k: v
                for k, v in values.items()
                if v is not None and v != "" and not (k == "page" and v == 1)
            }
        )


def _day_after(day: date | None) -> date | None:
    """The exclusive end of a filter's last day; the last representable day has no end."""
    return day + timedelta(days=1) if day is not None and day < date.max else None


async def job_page(
    state: PortalState, viewer: Viewer, filters: Filters, limit: int = PAGE_SIZE
) -> dict[str, Any]:
    async with state.db.as_viewer(viewer) as q:
        rows = await q.fetch_all(
            "jobs_list",
            status=filters.status,
            tier=filters.tier,
            customer=filters.customer,
            search=filters.search,
            created_after=filters.created_from,
            created_before=_day_after(filters.created_to),
            limit=limit,
            offset=(filters.page - 1) * limit,
        )
    total = int(rows[0]["total"]) if rows else 0
    return {
        "jobs": rows,
        "total": total,
        "page": filters.page,
        "pages": max(1, math.ceil(total / limit)),
    }


async def job_detail(state: PortalState, viewer: Viewer, job_id: uuid.UUID) -> dict[str, Any]:
    async with state.db.as_viewer(viewer) as q:
        job = await q.fetch_one("jobs_get", job_id=job_id)
        if job is None:
            raise NotFound(f"job {job_id} not found")
        directories = await q.fetch_all("job_directories_list", job_id=job_id)
        attempts = await q.fetch_all("job_results_list", job_id=job_id)
        audit = await q.fetch_all("audit_log_list_for_job", job_id=job_id)
    for attempt in attempts:
        attempt["artifacts_kept"] = artifacts.kept(
            state.settings.artifacts_dir, attempt["artifacts"]
        )
    counts: dict[str, int] = {}
    for directory in directories:
        counts[directory["status"]] = counts.get(directory["status"], 0) + 1
    status = job["status"]
    return {
        "job": job,
        "directories": directories,
        "attempts": attempts,
        "artifacts_retention_days": state.settings.artifacts_retention_days,
        "audit": audit,
        "counts": counts,
        "failed": [d for d in directories if d["status"] == "failed"],
        "can": {
            "pause": status in ("pending", "in_progress"),
            "resume": status == "paused",
            "cancel": status in ("pending", "in_progress", "paused"),
            "retry": status != "cancelled" and counts.get("failed", 0) > 0,
        },
    }


# -- pages ------------------------------------------------------------------------------------
@router.get("")
async def overview(request: Request, viewer: StaffViewer, state: PortalStateDep) -> Response:
    newest = await job_page(state, viewer, Filters(request), limit=10)
    return render(
        request,
        "staff/overview.html",
        status=await queue_status(state, viewer),
        alerts=await alerts(state, viewer),
        newest=newest,
        section="overview",
    )


@router.get("/status.json")
async def status_json(viewer: StaffViewer, state: PortalStateDep) -> JSONResponse:
    return JSONResponse(_jsonable(await queue_status(state, viewer)))


@router.get("/fragments/status")
async def status_fragment(request: Request, viewer: StaffViewer, state: PortalStateDep) -> Response:
    return render(request, "staff/_status.html", status=await queue_status(state, viewer))


@router.get("/fragments/alerts")
async def alerts_fragment(request: Request, viewer: StaffViewer, state: PortalStateDep) -> Response:
    return render(request, "staff/_alerts.html", alerts=await alerts(state, viewer))


@router.get("/fragments/jobs")
async def jobs_fragment(request: Request, viewer: StaffViewer, state: PortalStateDep) -> Response:
    filters = Filters(request)
    limit = 10 if request.query_params.get("recent") else PAGE_SIZE
    return render(
        request,
        "staff/_jobs_table.html",
        filters=filters,
        recent=request.query_params.get("recent") == "1",
        **await job_page(state, viewer, filters, limit=limit),
    )


@router.get("/jobs")
async def jobs(request: Request, viewer: StaffViewer, state: PortalStateDep) -> Response:
    filters = Filters(request)
    return render(
        request,
        "staff/jobs.html",
        filters=filters,
        statuses=JOB_STATUSES,
        tiers=TIERS,
        section="jobs",
        status_code=422 if filters.errors else 200,
        **await job_page(state, viewer, filters),
    )


@router.get("/jobs/{job_id}")
async def job(
    request: Request, job_id: JobId, viewer: StaffViewer, state: PortalStateDep
) -> Response:
    return render(
        request,
        "staff/job.html",
        section="jobs",
        notice=_notice(request),
        **await job_detail(state, viewer, job_id),
    )


@router.get("/jobs/{job_id}/fragment")
async def job_fragment(
    request: Request, job_id: JobId, viewer: StaffViewer, state: PortalStateDep
) -> Response:
    template = (
        "staff/_job_actions.html"
        if request.query_params.get("part") == "actions"
        else "staff/_job_detail.html"
    )
    return render(request, template, **await job_detail(state, viewer, job_id))


@router.get("/jobs/{job_id}/attempts/{attempt_id}/{kind}")
async def artifact(
    job_id: JobId,
    attempt_id: Annotated[int, Path(ge=1)],
    kind: artifacts.Kind,
    viewer: StaffViewer,
    state: PortalStateDep,
) -> Response:
    async with state.db.as_viewer(viewer) as q:
        row = await q.fetch_one("job_results_get_artifacts", job_id=job_id, attempt_id=attempt_id)
    if row is None:
        raise NotFound(f"attempt {attempt_id} of job {job_id} not found")
    try:
        path = artifacts.resolve(state.settings.artifacts_dir, row["artifacts"].get(kind), kind)
    except artifacts.ArtifactRefused as error:
        raise HTTPException(404, f"No {kind} was kept for this attempt ({error}).") from None
    headers = artifacts.HTML_HEADERS if kind == "html" else artifacts.IMAGE_HEADERS
    return FileResponse(
        path,
        media_type=artifacts.MEDIA_TYPES[kind],
        headers=dict(headers),
        content_disposition_type="inline",
        filename=f"job-{job_id}-attempt-{attempt_id}{artifacts.SUFFIXES[kind]}",
    )


@router.post("/jobs/{job_id}/{action}")
async def intervene(
    request: Request,
    job_id: JobId,
    action: orchestrator.Action,
    viewer: StaffViewer,
    state: PortalStateDep,
    confirmed: Annotated[str | None, Form()] = None,
    directory_ids: Annotated[list[str] | None, Form()] = None,
) -> Response:
    chosen = [d for d in (directory_ids or []) if d] or None
    if chosen and (len(chosen) > 500 or any(len(d) > 200 for d in chosen)):
        raise HTTPException(422, "directory_ids: at most 500 ids of at most 200 characters")
    if confirmed != "yes":
        # The confirm step: say exactly what will happen, then post again with confirmed=yes.
        detail = await job_detail(state, viewer, job_id)
        return render(
            request,
            "staff/confirm.html",
            section="jobs",
            action=action,
            chosen=chosen,
            **detail,
        )
    try:
        outcome = await orchestrator.intervene(state, viewer, action, job_id, chosen)
    except orchestrator.InterventionFailed as error:
        return RedirectResponse(
            f"/staff/jobs/{job_id}?{urlencode({'error': error.message})}", status_code=303
        )
    done: dict[str, Any] = {"done": action}
    if outcome.retried is not None:
        done["retried"] = outcome.retried
    return RedirectResponse(f"/staff/jobs/{job_id}?{urlencode(done)}", status_code=303)


@router.get("/charts")
async def charts_page(request: Request, viewer: StaffViewer, state: PortalStateDep) -> Response:
    window = _window(request.query_params.get("window"))
    async with state.db.as_viewer(viewer) as q:
        data = await charts.chart_data(q, window)
    starts = [b["start"] for b in data["buckets"]]
    b = data["buckets"]
    svgs = {
        "completed": charts.bar_chart(
            "chart-completed",
            f"Jobs completed per {window.bucket_label}",
            starts,
            [("completed", "s-ok", [x["jobs_completed"] for x in b])],
        ),
        "outcomes": charts.bar_chart(
            "chart-outcomes",
            f"Directory attempts by outcome per {window.bucket_label}",
            starts,
            [
                (o.replace("_", " "), f"s-{o}", [x["attempts_by_outcome"][o] for x in b])
                for o in charts.OUTCOMES
            ],
        ),
        "retry_rate": charts.bar_chart(
            "chart-retry-rate",
            f"Retry rate per {window.bucket_label}",
            starts,
            [("retry rate", "s-warn", [x["retry_rate"] or 0 for x in b])],
            percent=True,
        ),
        "captchas": charts.bar_chart(
            "chart-captchas",
            f"Captchas solved and failed per {window.bucket_label}",
            starts,
            [
                ("solved", "s-ok", [x["captchas_solved"] for x in b]),
                ("failed", "s-bad", [x["captchas_failed"] for x in b]),
            ],
        ),
        "proxy": charts.bar_chart(
            "chart-proxy",
            f"Proxy rotation failures per {window.bucket_label}",
            starts,
            [("proxy failures", "s-bad", [x["proxy_failures"] for x in b])],
        ),
    }
    return render(
        request,
        "staff/charts.html",
        section="charts",
        window=window,
        windows=charts.WINDOWS.values(),
        data=data,
        svgs=svgs,
        outcomes=charts.OUTCOMES,
    )


@router.get("/charts/data.json")
async def charts_data(request: Request, viewer: StaffViewer, state: PortalStateDep) -> JSONResponse:
    window = _window(request.query_params.get("window"))
    async with state.db.as_viewer(viewer) as q:
        return JSONResponse(await charts.chart_data(q, window))


@router.post("/alerts/{alert_id}/acknowledge")
async def acknowledge(
    alert_id: Annotated[int, Path(ge=1)],
    viewer: StaffViewer,
    state: PortalStateDep,
    next_path: Annotated[str | None, Form(alias="next")] = None,
) -> Response:
    async with state.db.as_viewer(viewer) as q:
        await q.fetch_one("alerts_acknowledge", alert_id=alert_id)
    # Only back to a staff page: never an open redirect.
    target = (
        next_path
        if next_path and next_path.startswith("/staff") and "//" not in next_path
        else "/staff"
    )
    return RedirectResponse(target, status_code=303)


@router.get("/events")
async def events(request: Request, viewer: StaffViewer, state: PortalStateDep) -> StreamingResponse:
    return StreamingResponse(
        live.stream(state, viewer, request),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


# -- helpers ----------------------------------------------------------------------------------
def _window(key: str | None) -> charts.Window:
    if key is None or key == "":
        return charts.WINDOWS[charts.DEFAULT_WINDOW]
    if key not in charts.WINDOWS:
        raise HTTPException(422, f"window must be one of: {', '.join(charts.WINDOWS)}")
    return charts.WINDOWS[key]


def _notice(request: Request) -> dict[str, str] | None:
    params = request.query_params
    if params.get("error"):
        return {"kind": "error", "text": params["error"][:500]}
    done = params.get("done")
    texts = {
        "pause": "Job paused. Its worker stops before the next directory.",
        "resume": "Job resumed: it is back in the queue.",
        "cancel": "Job cancelled. Its remaining directories are skipped.",
    }
    if done == "retry":
        retried = params.get("retried", "?")
        return {"kind": "success", "text": f"Retry queued for {retried} failed directories."}
    if done in texts:
        return {"kind": "success", "text": texts[done]}
    return None


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)
