"""The customer's job page, its live updates, and the completion report.

GET /jobs/{id}               the job: status, counts, progress bar, estimate, every directory
GET /jobs/{id}/events        server-sent events: the job's state whenever it changes
GET /jobs/{id}/report        the report (HTML, printable); .csv and .pdf download it
                             (.pdf?paper=letter|a4; US Letter in the US and Canada by default)

Everything is read under the customer's JWT, so another customer's job is simply not there:
404, never 403, for the page, the stream and every download alike (portal.jobs.reads). The
stream is portal.jobs.live; the report's documents portal.jobs.report.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from starlette.responses import Response

from portal.dependencies import PortalStateDep, SignedIn
from portal.directory_accounts import NO_STORE, job_accounts
from portal.jobs import live
from portal.jobs.reads import job_uuid, read_job, report_url
from portal.jobs.report import (
    download,
    pdf_renderer,
    ready_report,
    report_context,
    report_print_html,
)
from portal.live import event_stream
from portal.reports.business_card import business_card
from portal.reports.csv_export import report_csv
from portal.reports.paper import chosen_paper
from portal.reports.pdf import PdfUnavailable
from portal.reports.progress import build_progress
from portal.reports.summary import ReportView
from portal.state import PortalState
from portal.templating import render
from portal.viewer import Viewer

router = APIRouter(tags=["customer"])


@router.get("/jobs/{job_id}")
async def job_page(
    request: Request, job_id: str, viewer: SignedIn, state: PortalStateDep
) -> Response:
    return await job_page_response(request, state, viewer, job_uuid(job_id))


async def job_page_response(
    request: Request,
    state: PortalState,
    viewer: Viewer,
    job_id: uuid.UUID,
    revealed: dict[str, str] | None = None,
) -> Response:
    """The job page; `revealed` (account id → password) shows the password the viewer just
    asked for (portal.routers.directory_accounts), in a response nothing may keep."""
    job, directories, _ = await read_job(state, viewer, job_id)
    async with state.db.as_viewer(viewer) as q:
        accounts = await job_accounts(q, viewer, job_id)
    progress = build_progress(job, directories)
    response = render(
        request,
        "job.html",
        progress=progress,
        job=job,
        report_url=report_url(progress),
        accounts=accounts,
        revealed=revealed or {},
    )
    if revealed:
        response.headers.update(NO_STORE)
    return response


@router.get("/jobs/{job_id}/events")
async def job_events(job_id: str, viewer: SignedIn, state: PortalStateDep) -> Response:
    key = job_uuid(job_id)
    await read_job(state, viewer, key)  # 404 before any stream starts
    return event_stream(live.job_events(state, viewer, key))


@router.get("/jobs/{job_id}/report")
async def report_page(
    request: Request, job_id: str, viewer: SignedIn, state: PortalStateDep
) -> Response:
    report = await ready_report(request, state, viewer, job_id)
    if not isinstance(report, ReportView):
        return report
    return render(
        request, "report.html", layout="base.html", for_pdf=False, **report_context(report)
    )


@router.get("/jobs/{job_id}/report.csv")
async def report_csv_download(
    request: Request, job_id: str, viewer: SignedIn, state: PortalStateDep
) -> Response:
    report = await ready_report(request, state, viewer, job_id)
    if not isinstance(report, ReportView):
        return report
    return download(
        report,
        "csv",
        report_csv(report, state.settings.portal_url).encode("utf-8"),
        "text/csv; charset=utf-8",
    )


@router.get("/jobs/{job_id}/report.pdf")
async def report_pdf_download(
    request: Request, job_id: str, viewer: SignedIn, state: PortalStateDep
) -> Response:
    report = await ready_report(request, state, viewer, job_id)
    if not isinstance(report, ReportView):
        return report
    paper = chosen_paper(request.query_params.get("paper"), report.job.get("business_country"))
    try:
        pdf = await pdf_renderer(state).render(
            report_print_html(report, state, paper), paper, business_card(report.job).name
        )
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
    return download(report, "pdf", pdf, "application/pdf")
