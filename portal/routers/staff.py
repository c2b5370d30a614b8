"""The staff dashboard under /staff. Every page and action needs a staff user (StaffViewer):
signed-out visitors are sent to sign in, everyone else gets 403.

Reads run under the staff user's JWT (RLS and the staff_* SQL functions); interventions go
through the orchestrator's staff API with the staff user's email as actor. Parts of each page
refresh themselves when the live feed (SSE from Realtime topic `staff`) says something
changed: each has a fragment URL the page re-reads.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.responses import Response

from portal.dependencies import PortalStateDep, StaffViewer
from portal.live import event_stream
from portal.staff import artifacts, charts, live, orchestrator
from portal.staff.directory_view import DirectoryView, DirectoryViewDep
from portal.staff.job_filters import JOB_STATUSES, TIERS, JobFilters
from portal.staff.jobs import PAGE_SIZE, RECENT, intervention_notice, job_detail, job_page
from portal.staff.queue import alerts, jsonable, queue_status
from portal.staff.review import review_counts
from portal.staff.shortfalls import shortfalls
from portal.templating import render

router = APIRouter(prefix="/staff", tags=["staff"])

JobId = Annotated[uuid.UUID, Path(description="The job's id")]
Filters = Annotated[JobFilters, Query()]


@router.get("")
async def overview(
    request: Request, viewer: StaffViewer, state: PortalStateDep, filters: Filters
) -> Response:
    return render(
        request,
        "staff/overview.html",
        status=await queue_status(state, viewer),
        alerts=await alerts(state, viewer),
        review=await review_counts(state, viewer),
        newest=await job_page(state, viewer, filters, limit=RECENT, counted=False),
        shortfalls=await shortfalls(state, viewer),
        section="overview",
    )


@router.get("/status.json")
async def status_json(viewer: StaffViewer, state: PortalStateDep) -> JSONResponse:
    return JSONResponse(jsonable(await queue_status(state, viewer)))


@router.get("/fragments/status")
async def status_fragment(request: Request, viewer: StaffViewer, state: PortalStateDep) -> Response:
    return render(request, "staff/_status.html", status=await queue_status(state, viewer))


@router.get("/fragments/alerts")
async def alerts_fragment(request: Request, viewer: StaffViewer, state: PortalStateDep) -> Response:
    return render(request, "staff/_alerts.html", alerts=await alerts(state, viewer))


@router.get("/fragments/jobs")
async def jobs_fragment(
    request: Request, viewer: StaffViewer, state: PortalStateDep, filters: Filters, recent: str = ""
) -> Response:
    return render(
        request,
        "staff/_jobs_table.html",
        filters=filters,
        recent=recent == "1",
        **await job_page(
            state, viewer, filters, limit=RECENT if recent else PAGE_SIZE, counted=not recent
        ),
    )


@router.get("/jobs")
async def jobs(
    request: Request, viewer: StaffViewer, state: PortalStateDep, filters: Filters
) -> Response:
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
    request: Request,
    job_id: JobId,
    viewer: StaffViewer,
    state: PortalStateDep,
    view: DirectoryViewDep,
) -> Response:
    return render(
        request,
        "staff/job.html",
        section="jobs",
        notice=intervention_notice(request.query_params),
        status_code=422 if view.problem else 200,
        **await job_detail(state, viewer, job_id, view),
    )


@router.get("/jobs/{job_id}/fragment")
async def job_fragment(
    request: Request,
    job_id: JobId,
    viewer: StaffViewer,
    state: PortalStateDep,
    view: DirectoryViewDep,
    part: str = "",
) -> Response:
    template = "staff/_job_actions.html" if part == "actions" else "staff/_job_detail.html"
    return render(request, template, **await job_detail(state, viewer, job_id, view))


@router.get("/jobs/{job_id}/attempts/{attempt_id}/{kind}")
async def artifact(
    job_id: JobId,
    attempt_id: Annotated[int, Path(ge=1)],
    kind: artifacts.Kind,
    viewer: StaffViewer,
    state: PortalStateDep,
) -> Response:
    return await artifacts.attempt_file(state, viewer, job_id, attempt_id, kind)


@router.post("/jobs/{job_id}/{action}")
async def intervene(
    request: Request,
    job_id: JobId,
    action: orchestrator.Action,
    viewer: StaffViewer,
    state: PortalStateDep,
    view: DirectoryViewDep,
    confirmed: Annotated[str | None, Form()] = None,
    directory_ids: Annotated[list[str] | None, Form()] = None,
    reason: Annotated[str | None, Form(max_length=2000)] = None,
) -> Response:
    chosen = [d for d in (directory_ids or []) if d] or None
    if chosen and (len(chosen) > 500 or any(len(d) > 200 for d in chosen)):
        raise HTTPException(422, "directory_ids: at most 500 ids of at most 200 characters")
    reason = (reason or "").strip() or None
    # A pause or cancel tells the customer why: the confirm step asks for it.
    reason_problem = orchestrator.reason_problem(action, reason) if confirmed == "yes" else None
    if confirmed != "yes" or reason_problem:
        # The confirm step: say exactly what will happen, then post again with confirmed=yes.
        detail = await job_detail(state, viewer, job_id, view)
        return render(
            request,
            "staff/confirm.html",
            section="jobs",
            action=action,
            chosen=chosen,
            reason=reason or "",
            reason_problem=reason_problem,
            status_code=422 if reason_problem else 200,
            **detail,
        )
    try:
        outcome = await orchestrator.intervene(state, viewer, action, job_id, chosen, reason)
    except orchestrator.InterventionFailed as error:
        return RedirectResponse(_back_to(job_id, view, error=error.code), status_code=303)
    done: dict[str, Any] = {"done": action}
    if outcome.retried is not None:
        done["retried"] = outcome.retried
    return RedirectResponse(_back_to(job_id, view, **done), status_code=303)


def _back_to(job_id: uuid.UUID, view: DirectoryView, **said: Any) -> str:
    """The drill-down as the staff member was looking at it (state filter and page), with
    what happened."""
    return f"/staff/jobs/{job_id}?" + "&".join(q for q in (view.query(), urlencode(said)) if q)


@router.get("/charts")
async def charts_page(
    request: Request, viewer: StaffViewer, state: PortalStateDep, window: charts.ChartWindow
) -> Response:
    async with state.db.as_viewer(viewer) as q:
        data = await charts.chart_data(q, window)
    return render(
        request,
        "staff/charts.html",
        section="charts",
        window=window,
        windows=charts.WINDOWS.values(),
        data=data,
        svgs=charts.page_charts(window, data),
        outcomes=charts.OUTCOMES,
    )


@router.get("/charts/data.json")
async def charts_data(
    viewer: StaffViewer, state: PortalStateDep, window: charts.ChartWindow
) -> JSONResponse:
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
async def events(request: Request, viewer: StaffViewer, state: PortalStateDep) -> Response:
    return event_stream(live.stream(state, viewer, request))
