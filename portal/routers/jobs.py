"""The customer's job page, its live updates, and the completion report.

GET /jobs/{id}               the job: status, counts, progress bar, estimate, every directory
GET /jobs/{id}/events        server-sent events: the job's state whenever it changes
GET /jobs/{id}/report        the report (HTML, printable); .csv and .pdf download it

Everything is read under the customer's JWT, so another customer's job is simply not there:
404, never 403, for the page, the stream and every download alike. The report exists once
the job is complete (job_reports is written by jobs_complete); before that it is a 404 that
says so.

The event stream is fed by Supabase Realtime: the portal joins the customer's private topic
`customer:<uid>` with the customer's own access token (portal.live) and, on each broadcast
about this job, re-reads the job under the JWT and sends what changed. Broadcasts only wake
it up; what it sends is always the database's state. A comment line goes out every 15 s to
keep proxies from closing an idle stream, and the job is re-read on a timer too — every 10 s
while Realtime is away, every 60 s while it is up, since Realtime does not replay what it
missed while disconnected. The stream ends when the access token expires; the browser's
EventSource reconnects by itself and the session middleware refreshes the cookie then.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
from fastapi import APIRouter, Request
from starlette.responses import Response, StreamingResponse

from dbolt.sql import DatabaseUnavailable, NotFound
from portal.dependencies import PortalStateDep, SignedIn
from portal.live import RealtimeUnavailable, broadcasts
from portal.reports.csv_export import report_csv
from portal.reports.pdf import PdfRenderer, PdfUnavailable
from portal.reports.progress import (
    JobProgress,
    build_progress,
    error_reason,
    format_time,
    job_state_words,
    state_words,
)
from portal.reports.summary import ReportView, build_report, directory_outcome
from portal.state import PortalState
from portal.templating import STATIC_DIR, render, templates
from portal.viewer import Viewer

log = logging.getLogger(__name__)
router = APIRouter(tags=["customer"])

TIMING_EXTRA = "portal_jobs.stream_timing"
PDF_EXTRA = "portal_jobs.pdf"
LIVE_EVENTS = ("job_status", "progress")
NOT_YOURS = "There is nothing here, or it is not yours to see."


@dataclass
class StreamTiming:
    """How the event stream paces itself (tests shorten these through state.extras)."""

    heartbeat_seconds: float = 15.0
    # Re-reading the job on a timer: the safety net when Realtime is away, and a slow check
    # for anything it missed while it is up.
    reread_seconds: float = 10.0
    live_reread_seconds: float = 60.0
    # A burst of broadcasts (two workers reporting at once) becomes one re-read.
    coalesce_seconds: float = 0.2
    realtime_retry_seconds: float = 5.0
    realtime_retry_max_seconds: float = 60.0
    # EventSource waits this long before reconnecting after the stream ends.
    client_retry_ms: int = 3000


def stream_timing(state: PortalState) -> StreamTiming:
    timing = state.extras.setdefault(TIMING_EXTRA, StreamTiming())
    assert isinstance(timing, StreamTiming)
    return timing


def pdf_renderer(state: PortalState) -> PdfRenderer:
    renderer = state.extras.get(PDF_EXTRA)
    if renderer is None:
        # Registered in extras, so the app's lifespan closes the browser at shutdown.
        renderer = state.extras[PDF_EXTRA] = PdfRenderer(state.settings.chromium_path)
    assert isinstance(renderer, PdfRenderer)
    return renderer


# -- reading ---------------------------------------------------------------------------------
def _job_uuid(job_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(job_id)
    except ValueError:
        raise NotFound(NOT_YOURS) from None


async def _read_job(
    state: PortalState, viewer: Viewer, job_id: uuid.UUID, *, with_report: bool = False
) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any] | None]:
    """The job, its directories and (if asked) its report, in one snapshot under the JWT."""
    async with state.db.as_viewer(viewer) as q:
        job = await q.fetch_one("jobs_get_own", job_id=job_id, user_id=viewer.user_id)
        if job is None:
            raise NotFound(NOT_YOURS)
        directories = await q.fetch_all(
            "job_directories_list_own", job_id=job_id, user_id=viewer.user_id
        )
        report = None
        if with_report:
            report = await q.fetch_one("job_reports_get_own", job_id=job_id, user_id=viewer.user_id)
    return job, directories, report


def _template_helpers() -> dict[str, Any]:
    return {
        "state_words": state_words,
        "format_time": format_time,
        "error_reason": error_reason,
        "directory_outcome": directory_outcome,
    }


def _report_url(progress: JobProgress) -> str | None:
    if progress.status == "complete" and progress.job.get("has_report"):
        return f"/jobs/{progress.job['id']}/report"
    return None


# -- the job page ----------------------------------------------------------------------------
@router.get("/jobs/{job_id}")
async def job_page(
    request: Request, job_id: str, viewer: SignedIn, state: PortalStateDep
) -> Response:
    job, directories, _ = await _read_job(state, viewer, _job_uuid(job_id))
    progress = build_progress(job, directories)
    return render(
        request,
        "job.html",
        progress=progress,
        job=job,
        report_url=_report_url(progress),
        **_template_helpers(),
    )


# -- live updates ----------------------------------------------------------------------------
def _row_key(row: Mapping[str, Any]) -> tuple[Any, ...]:
    return (
        row["status"],
        row["attempts"],
        row["listing_url"],
        row["action_required"],
        row["last_error_code"],
        row["submitted_at"],
    )


def _render_partial(name: str, **context: Any) -> str:
    return templates.env.get_template(name).render(**_template_helpers(), **context)


@dataclass
class _Seen:
    status: str
    done: int
    rows: dict[str, tuple[Any, ...]]
    has_report: bool
    live: bool


def live_update(
    progress: JobProgress, seen: _Seen | None, live: bool
) -> tuple[dict[str, Any] | None, _Seen]:
    """The message for the browser (None when nothing changed since `seen`) and the new `seen`.

    `live` says whether Realtime is joined; the browser is told when that changes too.
    """
    rows = {str(row["directory_id"]): _row_key(row) for row in progress.directories}
    now_seen = _Seen(
        progress.status, progress.done, rows, bool(progress.job.get("has_report")), live
    )
    changed = [
        row
        for row in progress.directories
        if seen is None or seen.rows.get(str(row["directory_id"])) != rows[str(row["directory_id"])]
    ]
    if (
        seen is not None
        and not changed
        and seen.status == now_seen.status
        and seen.has_report == now_seen.has_report
        and seen.live == live
    ):
        return None, now_seen

    announce, urgent = "", False
    if seen is not None:
        needing = [
            row
            for row in changed
            if row["status"] == "needs_action"
            and seen.rows.get(str(row["directory_id"]), ("",))[0] != "needs_action"
        ]
        if seen.status != progress.status:
            announce, urgent = f"Your job is now: {progress.words.label}.", True
            if _report_url(progress):
                announce += " Your report is ready."
        elif needing:
            names = ", ".join(str(row["directory"]) for row in needing)
            announce, urgent = f"{names}: needs your action.", True
        elif seen.done != progress.done:
            announce = progress.progress_text + "."

    words = progress.words
    message = {
        "job_id": str(progress.job["id"]),
        "status": progress.status,
        "status_label": words.label,
        "status_tone": words.tone,
        "status_meaning": words.meaning,
        "total": progress.total,
        "done": progress.done,
        "percent": progress.percent,
        "progress_text": progress.progress_text,
        "estimate": progress.estimate.text,
        "estimate_basis": progress.estimate.basis,
        "counts_html": _render_partial("partials/job_counts.html", progress=progress),
        "rows": {
            str(row["directory_id"]): _render_partial("partials/job_directory_row.html", row=row)
            for row in changed
        },
        "needs_action": len(progress.needs_action),
        "needs_action_html": _render_partial("partials/job_needs_action.html", progress=progress),
        "report_url": _report_url(progress),
        "final": progress.is_final,
        "announce": announce,
        "urgent": urgent,
        "live": live,
    }
    return message, now_seen


def _sse(event: str, data: Mapping[str, Any], event_id: int) -> str:
    return f"event: {event}\nid: {event_id}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


async def _follow_realtime(
    state: PortalState, viewer: Viewer, job_key: str, wake: asyncio.Event, live: dict[str, bool]
) -> None:
    """Sets `wake` on every broadcast about the job; rejoins with backoff when Realtime drops."""
    timing = stream_timing(state)
    delay = timing.realtime_retry_seconds

    def joined() -> None:
        nonlocal delay
        live["up"] = True
        delay = timing.realtime_retry_seconds
        # Whatever happened between our last read and the join: read again.
        wake.set()

    while True:
        try:
            feed = broadcasts(
                state.settings,
                viewer.access_token,
                f"customer:{viewer.user_id}",
                LIVE_EVENTS,
                on_joined=joined,
            )
            async with contextlib.aclosing(feed):
                async for message in feed:
                    if str(message["payload"].get("job_id")) == job_key:
                        wake.set()
        except RealtimeUnavailable as error:
            log.info(
                "job stream without realtime; re-reading on a timer",
                extra={"action": "portal.job_stream_realtime_lost", "error": str(error)},
            )
        live["up"] = False
        wake.set()
        await asyncio.sleep(delay)
        delay = min(delay * 2, timing.realtime_retry_max_seconds)


async def _job_events(state: PortalState, viewer: Viewer, job_id: uuid.UUID) -> AsyncIterator[str]:
    timing = stream_timing(state)
    wake = asyncio.Event()
    live = {"up": False}
    follower = asyncio.create_task(_follow_realtime(state, viewer, str(job_id), wake, live))
    # The stream ends with the access token; EventSource comes back with a refreshed one.
    token_ends = float(viewer.claims.get("exp", 0))
    seen: _Seen | None = None
    event_id = 0
    try:
        yield f"retry: {timing.client_retry_ms}\n\n"
        next_read = 0.0
        next_beat = time.monotonic() + timing.heartbeat_seconds
        while time.time() < token_ends:
            if wake.is_set() or time.monotonic() >= next_read:
                if wake.is_set() and seen is not None:
                    await asyncio.sleep(timing.coalesce_seconds)
                wake.clear()
                try:
                    job, directories, _ = await _read_job(state, viewer, job_id)
                except DatabaseUnavailable:
                    log.warning(
                        "job stream could not read the job; retrying on the timer",
                        extra={"action": "portal.job_stream_db_unavailable"},
                    )
                except NotFound:
                    yield _sse("gone", {"job_id": str(job_id)}, event_id + 1)
                    return
                else:
                    progress = build_progress(job, directories)
                    message, seen = live_update(progress, seen, live["up"])
                    if message is not None:
                        event_id += 1
                        yield _sse("state", message, event_id)
                        next_beat = time.monotonic() + timing.heartbeat_seconds
                interval = timing.live_reread_seconds if live["up"] else timing.reread_seconds
                next_read = time.monotonic() + interval
            if time.monotonic() >= next_beat:
                yield ": keepalive\n\n"
                next_beat = time.monotonic() + timing.heartbeat_seconds
            wait = min(next_read, next_beat) - time.monotonic()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), max(0.0, min(wait, token_ends - time.time())))
    finally:
        follower.cancel()
        # The browser went away (Starlette cancels this generator): let the follower close its
        # Realtime socket even though we are being cancelled.
        with anyio.CancelScope(shield=True), anyio.move_on_after(5):
            await asyncio.gather(follower, return_exceptions=True)
        log.debug("job stream closed", extra={"action": "portal.job_stream_closed"})


@router.get("/jobs/{job_id}/events")
async def job_events(job_id: str, viewer: SignedIn, state: PortalStateDep) -> Response:
    key = _job_uuid(job_id)
    await _read_job(state, viewer, key)  # 404 before any stream starts
    return StreamingResponse(
        _job_events(state, viewer, key),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


# -- the report ------------------------------------------------------------------------------
async def _ready_report(
    request: Request, state: PortalState, viewer: Viewer, job_id: str
) -> ReportView | Response:
    """The report, or the 404 page saying it is not ready (NotFound if the job is not theirs)."""
    job, directories, report = await _read_job(state, viewer, _job_uuid(job_id), with_report=True)
    # A complete job reopened by a staff retry keeps its old report row; until it completes
    # again the report would not match the directories, so it is not offered.
    if report is not None and job["status"] == "complete":
        return build_report(job, report, directories)
    status = str(job["status"])
    return render(
        request,
        "partials/report_not_ready.html",
        status_code=404,
        job_url=f"/jobs/{job['id']}",
        job_status=status,
        status_words=job_state_words(status),
    )


def _report_context(report: ReportView) -> dict[str, Any]:
    job_id = str(report.job["id"])
    return {
        "report": report,
        "job": report.job,
        "csv_url": f"/jobs/{job_id}/report.csv",
        "pdf_url": f"/jobs/{job_id}/report.pdf",
        "job_url": f"/jobs/{job_id}",
        **_template_helpers(),
    }


def _download(report: ReportView, extension: str, body: bytes, media_type: str) -> Response:
    """The report as a file to save; it is one customer's, so never cached."""
    filename = f"directorybolt-report-{str(report.job['id'])[:8]}.{extension}"
    return Response(
        body,
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "private, no-store",
        },
    )


@router.get("/jobs/{job_id}/report")
async def report_page(
    request: Request, job_id: str, viewer: SignedIn, state: PortalStateDep
) -> Response:
    report = await _ready_report(request, state, viewer, job_id)
    if not isinstance(report, ReportView):
        return report
    return render(
        request, "report.html", layout="base.html", for_pdf=False, **_report_context(report)
    )


@router.get("/jobs/{job_id}/report.csv")
async def report_csv_download(
    request: Request, job_id: str, viewer: SignedIn, state: PortalStateDep
) -> Response:
    report = await _ready_report(request, state, viewer, job_id)
    if not isinstance(report, ReportView):
        return report
    return _download(report, "csv", report_csv(report).encode("utf-8"), "text/csv; charset=utf-8")


_PRINT_CSS = ("portal.css", "jobs.css")


def report_print_html(report: ReportView, state: PortalState) -> str:
    """The report page as one self-contained document (styles inlined) for Chromium."""
    css = "\n".join((Path(STATIC_DIR) / name).read_text(encoding="utf-8") for name in _PRINT_CSS)
    return templates.env.get_template("report.html").render(
        layout="partials/report_print_base.html",
        for_pdf=True,
        inline_css=css,
        viewer=None,
        portal_url=state.settings.portal_url,
        **_report_context(report),
    )


@router.get("/jobs/{job_id}/report.pdf")
async def report_pdf_download(
    request: Request, job_id: str, viewer: SignedIn, state: PortalStateDep
) -> Response:
    report = await _ready_report(request, state, viewer, job_id)
    if not isinstance(report, ReportView):
        return report
    try:
        pdf = await pdf_renderer(state).render(report_print_html(report, state))
    except PdfUnavailable:
        response = render(
            request,
            "error.html",
            status_code=503,
            status=503,
            title="PDF not available right now",
            message="We could not print your report just now. Please try again in a minute, "
            "or download the CSV meanwhile.",
        )
        response.headers["Retry-After"] = "30"
        return response
    return _download(report, "pdf", pdf, "application/pdf")


__all__ = ["StreamTiming", "live_update", "report_print_html", "router", "stream_timing"]
