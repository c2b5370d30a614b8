"""The completion report: HTML, CSV and PDF (printed by the real Chromium), each checked
against what the database holds — job_reports.summary / details and job_directories."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import httpx
from pypdf import PdfReader

from dbolt.refusals import error_reason
from portal.auth.cookies import ACCESS_COOKIE
from portal.jobs.report import PDF_EXTRA
from portal.reports.pdf import PdfRenderer
from tests.support.portal_harness import PortalStack, access_token
from tests.support.portal_jobs import Job, finished_job, make_job, served_portal

HTML = {"accept": "text/html"}
SUMMARY_FIELDS = ("directories", "successes", "failures", "attempts", "retries")
BY_STATUS_FIELDS = ("needs_action", "needs_review", "skipped")


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#39;", "'")


def _iso(moment: datetime | None) -> str:
    return "" if moment is None else moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _expected_numbers(job: Job) -> dict[str, int]:
    summary = job.report_row()["summary"]
    numbers = {key: int(summary[key]) for key in SUMMARY_FIELDS}
    numbers.update({key: int(summary["by_status"].get(key, 0)) for key in BY_STATUS_FIELDS})
    return numbers


def test_there_is_no_report_before_the_job_completes(portal_stack: PortalStack) -> None:
    job = make_job(portal_stack, "ann@example.com", directories=2)
    job.claim()
    job.report(job.directories[0])
    for suffix in ("", ".csv", ".pdf"):
        response = portal_stack.client.get(
            f"/jobs/{job.id}/report{suffix}", cookies=job.customer.cookies, headers=HTML
        )
        assert response.status_code == 404, suffix
        assert "Report not ready yet" in response.text
        assert f'href="/jobs/{job.id}"' in response.text


def test_the_report_page_shows_the_numbers_the_database_froze(portal_stack: PortalStack) -> None:
    job = finished_job(portal_stack, "bea@example.com")
    response = portal_stack.client.get(f"/jobs/{job.id}/report", cookies=job.customer.cookies)
    assert response.status_code == 200
    page = response.text
    shown = dict(re.findall(r'<dd data-field="(\w+)">(\d+)</dd>', page))
    assert {key: int(value) for key, value in shown.items()} == _expected_numbers(job)
    # The worked example behind those numbers: 5 directories, 2 submitted, 1 each of
    # needs action / being checked / failed, 6 attempts of which 1 retry.
    assert _expected_numbers(job) == {
        "directories": 5,
        "successes": 2,
        "failures": 1,
        "attempts": 6,
        "retries": 1,
        "needs_action": 1,
        "needs_review": 1,
        "skipped": 0,
    }
    seconds = job.report_row()["summary"]["seconds_to_complete"]
    assert f'data-field="seconds_to_complete" data-seconds="{seconds}"' in page

    # Every directory with its state and listing, as job_directories has them.
    table = re.search(
        r'<table role="table" class="report-table report-directories" id="report-directories">'
        r".*?</table>",
        page,
        re.S,
    )
    assert table is not None
    rows = re.findall(
        r'<tr role="row" data-directory-id="([\w-]+)">\s*<td role="cell" data-label="#">(\d+)</td>'
        r'\s*<th scope="row" role="rowheader" class="directory">([^<]+)</th>\s*'
        r'<td role="cell" data-label="Result"><span class="state" data-state="\w+">([^<]+)</span>'
        r".*?"
        r'<td role="cell" data-label="Listing" class="url">(?:<a href="([^"]+)")?',
        table.group(0),
        re.S,
    )
    labels = {
        "submitted": "Submitted",
        "needs_action": "Needs your action",
        "failed": "Not submitted",
        "needs_review": "Being checked",
    }
    assert [(r[0], int(r[1]), r[2], r[3], r[4] or None) for r in rows] == [
        (d["directory_id"], d["position"], d["name"], labels[d["status"]], d["listing_url"])
        for d in job.directory_rows()
    ]
    text = _text(page)
    # What the customer must do, and the key events.
    assert "What we need from you" in text
    assert "Click the link the directory emailed you" in text
    for event in (
        "Your business details were saved and your job joined the queue.",
        "Submissions started.",
        "Test directory test-dir-03 needs your action.",
        "Test directory test-dir-04 could not be submitted: the site already lists your business.",
        "Test directory test-dir-05: no confirmation was shown; our team is checking the"
        " submission.",
        "Every directory was processed: the job is complete.",
    ):
        assert event in text, event
    assert f'href="/jobs/{job.id}/report.pdf?paper=letter"' in page
    assert f'href="/jobs/{job.id}/report.pdf?paper=a4"' in page
    assert f'href="/jobs/{job.id}/report.csv"' in page


def _csv_sections(body: bytes) -> tuple[dict[str, str], list[dict[str, str]]]:
    text = body.decode("utf-8-sig")
    summary_part, directories_part = text.split("\r\n\r\n", 1)
    summary_rows = list(csv.reader(io.StringIO(summary_part)))
    assert summary_rows[0] == ["field", "value"]
    summary = {row[0]: row[1] for row in summary_rows[1:]}
    directories = list(csv.DictReader(io.StringIO(directories_part)))
    return summary, directories


def test_the_csv_matches_the_database_row_for_row(portal_stack: PortalStack) -> None:
    job = finished_job(portal_stack, "cat@example.com")
    response = portal_stack.client.get(f"/jobs/{job.id}/report.csv", cookies=job.customer.cookies)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == (
        f'attachment; filename="directorybolt-report-{str(job.id)[:8]}.csv"'
    )
    assert response.content.startswith(b"\xef\xbb\xbf")
    summary, directories = _csv_sections(response.content)

    report = job.report_row()
    assert summary["job_id"] == str(job.id)
    assert summary["job_status"] == "complete"
    assert summary["package"] == "starter"
    assert {key: int(summary[key]) for key in (*SUMMARY_FIELDS, *BY_STATUS_FIELDS)} == (
        _expected_numbers(job)
    )
    assert int(summary["seconds_to_complete"]) == report["summary"]["seconds_to_complete"]
    (completed_at,) = job.sql("select completed_at from jobs where id = %s", job.id)[0]
    assert summary["completed_at"] == _iso(completed_at)
    assert summary["report_created_at"] == _iso(report["created_at"])

    assert list(directories[0]) == [
        "directory_id",
        "directory",
        "status",
        "attempts",
        "outcome",
        "error_code",
        "listing_url",
        "submitted_at",
        "reason",
        "action_required",
        "what_became_of_it",
        "last_check",
        "last_checked_at",
        "nap_score",
    ]
    # Not checked live yet: the listing with a URL says when its first check is.
    checks = {
        r["directory_id"]: (r.pop("last_check"), r.pop("last_checked_at"), r.pop("nap_score"))
        for r in directories
    }
    assert checks["test-dir-02"][0].startswith("First check on ")
    assert checks["test-dir-04"] == ("", "", "")
    # What became of each directory not submitted (dbolt/package_promise.py), checked below.
    fates = {row["directory_id"]: row.pop("what_became_of_it") for row in directories}
    expected = [
        {
            "directory_id": d["directory_id"],
            "directory": d["name"],
            "status": d["status"],
            "attempts": str(d["attempts"]),
            "outcome": d["last_outcome"] or "",
            "error_code": d["last_error_code"] or "",
            "listing_url": d["listing_url"] or "",
            "submitted_at": _iso(d["submitted_at"]),
            # Plain words, never the attempt's raw message (staff detail).
            "reason": error_reason(d["last_error_code"]) or "",
            "action_required": d["action_required"] or "",
        }
        for d in job.directory_rows()
    ]
    assert directories == expected
    # Spot checks of the story: the retried directory, the duplicate and the action.
    by_id = {row["directory_id"]: row for row in directories}
    assert by_id["test-dir-02"]["attempts"] == "2"
    assert by_id["test-dir-02"]["listing_url"] == "https://listings.example/acme-2"
    assert by_id["test-dir-04"]["error_code"] == "duplicate_listing"
    assert by_id["test-dir-03"]["action_required"] == "Click the link the directory emailed you"
    # Nothing was left to replace the duplicate with, and the test order cost nothing.
    assert fates["test-dir-04"] == "Not delivered."
    assert fates["test-dir-03"] == "Waiting for you."
    assert fates["test-dir-01"] == ""


def test_the_csv_does_not_let_a_spreadsheet_run_what_a_site_wrote(
    portal_stack: PortalStack,
) -> None:
    job = make_job(portal_stack, "dan@example.com", directories=1)
    job.claim()
    job.report(
        job.directories[0],
        "needs_action",
        action_required='=HYPERLINK("http://evil.example","click")',
    )
    job.complete()
    body = portal_stack.client.get(f"/jobs/{job.id}/report.csv", cookies=job.customer.cookies)
    _summary, (row,) = _csv_sections(body.content)
    assert row["action_required"] == '\'=HYPERLINK("http://evil.example","click")'


# -- PDF -----------------------------------------------------------------------------------
def pdf_pages(data: bytes) -> list[str]:
    """The text of each page, as pypdf reads it (Skia draws "fi" as a ligature: NFKC)."""
    return [
        unicodedata.normalize("NFKC", page.extract_text() or "")
        for page in PdfReader(io.BytesIO(data)).pages
    ]


def test_the_pdf_is_chromiums_print_of_the_report_with_the_same_numbers(
    portal_stack: PortalStack,
) -> None:
    job = finished_job(portal_stack, "eve@example.com")
    response = portal_stack.client.get(f"/jobs/{job.id}/report.pdf", cookies=job.customer.cookies)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == (
        f'attachment; filename="directorybolt-report-{str(job.id)[:8]}.pdf"'
    )
    pdf = response.content
    assert pdf.startswith(b"%PDF-")
    assert b"/Producer (Skia/PDF" in pdf
    pages = pdf_pages(pdf)
    text = re.sub(r"\s+", " ", " ".join(pages))
    # Long names and URLs wrap inside table cells; compare them without the breaks.
    unwrapped = re.sub(r"\s+", "", text)
    numbers = _expected_numbers(job)
    labels = {
        "directories": "Directories in your package",
        "successes": "Submitted successfully",
        "needs_action": "Need your action",
        "needs_review": "Being checked by our team",
        "failures": "Could not be submitted",
        "skipped": "Skipped",
        "attempts": "Submission attempts",
        "retries": "Retries",
    }
    for key, label in labels.items():
        # Each summary card is its label followed by its number.
        found = re.search(re.escape(label) + r" (\d+)", text)
        assert found is not None, label
        assert int(found.group(1)) == numbers[key], label
    for row in job.directory_rows():
        assert row["name"].replace(" ", "") in unwrapped
    assert "https://listings.example/acme-1" in unwrapped
    assert "https://listings.example/acme-2" in unwrapped
    assert "Click the link the directory emailed you" in text
    assert "Every directory was processed: the job is complete." in text
    assert f"Page 1 of {len(pages)}" in text
    assert f"Page {len(pages)} of {len(pages)}" in pages[-1]
    # The printed document has no site navigation and no download buttons.
    assert "Sign out" not in text
    assert "Download PDF" not in text


def test_pdfs_share_one_browser_and_print_a_bounded_number_at_a_time(
    portal_stack: PortalStack,
) -> None:
    job = finished_job(portal_stack, "fay@example.com")
    token = access_token(job.customer.user_id, job.customer.email)
    with served_portal(portal_stack) as (url, app):

        def download(_: int) -> httpx.Response:
            return httpx.get(
                f"{url}/jobs/{job.id}/report.pdf", cookies={ACCESS_COOKIE: token}, timeout=60
            )

        with ThreadPoolExecutor(max_workers=4) as pool:
            responses = list(pool.map(download, range(4)))
        assert [r.status_code for r in responses] == [200] * 4
        assert all(r.content.startswith(b"%PDF-") for r in responses)
        renderer: Any = app.state.portal.extras[PDF_EXTRA]
        assert isinstance(renderer, PdfRenderer)
        assert renderer.launches == 1
        assert renderer._slots._value == 2  # every slot given back


def test_a_report_reopened_by_a_staff_retry_waits_for_the_new_completion(
    portal_stack: PortalStack,
) -> None:
    job = finished_job(portal_stack, "gus@example.com")
    url = f"/jobs/{job.id}/report"
    assert portal_stack.client.get(url, cookies=job.customer.cookies).status_code == 200
    job.sql("select jobs_retry(%s, array['test-dir-04'], 'staff:ops@example.com')", job.id)
    refused = portal_stack.client.get(url, cookies=job.customer.cookies, headers=HTML)
    assert refused.status_code == 404
    assert "Report not ready yet" in refused.text
    job.claim()
    job.report("test-dir-04", listing_url="https://listings.example/acme-4")
    job.complete()
    page = portal_stack.client.get(url, cookies=job.customer.cookies).text
    assert '<dd data-field="successes">3</dd>' in page
    assert "Our team retried the directories that had not been submitted." in _text(page)


def test_a_cancelled_job_says_there_will_be_no_report(portal_stack: PortalStack) -> None:
    job = make_job(portal_stack, "hal@example.com", directories=2)
    job.sql("select jobs_cancel(%s, 'staff:ops@example.com')", job.id)
    response = portal_stack.client.get(
        f"/jobs/{job.id}/report", cookies=job.customer.cookies, headers=HTML
    )
    assert response.status_code == 404
    assert "This job was cancelled. A report is written only when every directory has been" in (
        _text(response.text)
    )
    page = portal_stack.client.get(f"/jobs/{job.id}", cookies=job.customer.cookies).text
    assert 'class="status status-bad">Cancelled<' in page
    assert "No estimate: the job has stopped." in _text(page)
    assert 'data-final="true"' in page
