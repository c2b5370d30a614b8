"""The completion report as the customer gets it: the page's context, the not-ready page,
the print document Chromium turns into the PDF, and the downloads.

The report exists once the job is complete (job_reports is written by jobs_complete); before
that it is a 404 that says so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from portal.directory_accounts import job_accounts
from portal.jobs.reads import job_uuid, read_job
from portal.reports.business_card import business_card
from portal.reports.paper import Paper, paper_choices
from portal.reports.pdf import PdfRenderer
from portal.reports.progress import job_state_words
from portal.reports.summary import ReportView, build_report
from portal.state import PortalState
from portal.templating import STATIC_DIR, render, templates
from portal.viewer import Viewer

PDF_EXTRA = "portal_jobs.pdf"
_PRINT_CSS = ("portal.css", "report.css")


def pdf_renderer(state: PortalState) -> PdfRenderer:
    renderer = state.extras.get(PDF_EXTRA)
    if renderer is None:
        # Registered in extras, so the app's lifespan closes the browser at shutdown.
        renderer = state.extras[PDF_EXTRA] = PdfRenderer(state.settings.chromium_path)
    assert isinstance(renderer, PdfRenderer)
    return renderer


async def ready_report(
    request: Request, state: PortalState, viewer: Viewer, job_id: str
) -> ReportView | Response:
    """The report, or the 404 page saying it is not ready (NotFound if the job is not theirs)."""
    job, directories, report = await read_job(state, viewer, job_uuid(job_id), with_report=True)
    # A complete job reopened by a staff retry keeps its old report row; until it completes
    # again the report would not match the directories, so it is not offered.
    if report is not None and job["status"] == "complete":
        async with state.db.as_viewer(viewer) as q:
            accounts = await job_accounts(q, viewer, job["id"])
        return build_report(job, report, directories, accounts)
    status = str(job["status"])
    return render(
        request,
        "partials/report_not_ready.html",
        status_code=404,
        job_url=f"/jobs/{job['id']}",
        job_status=status,
        status_words=job_state_words(status),
    )


def report_context(report: ReportView) -> dict[str, Any]:
    job_id = str(report.job["id"])
    return {
        "report": report,
        "job": report.job,
        "business": business_card(report.job),
        "csv_url": f"/jobs/{job_id}/report.csv",
        # The customer's paper first (US Letter in the US and Canada, A4 elsewhere).
        "pdf_links": [
            (paper, f"/jobs/{job_id}/report.pdf?paper={paper.key}")
            for paper in paper_choices(report.job.get("business_country"))
        ],
        "job_url": f"/jobs/{job_id}",
    }


def download(report: ReportView, extension: str, body: bytes, media_type: str) -> Response:
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


def report_print_html(report: ReportView, state: PortalState, paper: Paper) -> str:
    """The report page as one self-contained document (styles inlined) for Chromium: a
    cover, then the directories, laid out for `paper`."""
    css = "\n".join((Path(STATIC_DIR) / name).read_text(encoding="utf-8") for name in _PRINT_CSS)
    return templates.env.get_template("report.html").render(
        layout="partials/report_print_base.html",
        for_pdf=True,
        paper=paper,
        inline_css=css,
        viewer=None,
        portal_url=state.settings.portal_url,
        **report_context(report),
    )
