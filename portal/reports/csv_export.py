"""The report as CSV (GET /jobs/{id}/report.csv).

Format (UTF-8 with a byte-order mark so spreadsheet programs read accents right; RFC 4180
quoting; CRLF line ends), two sections separated by one empty line:

1. The summary, a two-column table with the header `field,value`: report, job_id, business,
   package, job_status, created_at, started_at, completed_at, seconds_to_complete,
   directories, successes, needs_action, needs_review, failures, skipped, attempts, retries,
   promised, delivered, in_hand, replaced, shortfall, refund, refund_status,
   nap_consistency, report_created_at. The counts up to retries are job_reports.summary as
   jobs_complete froze it (needs_action, needs_review and skipped from its by_status);
   promised … refund_status are the package's promise (public.package_promise,
   dbolt/package_promise.py): refund is the amount refunded or being refunded for the
   shortfall, refund_status refunded / refunding / none. nap_consistency is the mean
   name/address/phone match score (0 to 1) of the last checks of the listings found live
   (portal/reports/live_checks.py), empty before any.
2. The directories, one row per directory of the job in submission order, with the header
   `directory_id,directory,status,attempts,outcome,error_code,listing_url,submitted_at,
   reason,action_required,what_became_of_it,last_check,last_checked_at,nap_score`:
   job_directories' status, attempts, last_outcome, last_error_code, listing_url,
   submitted_at, the plain reason the report prints (dbolt/refusals.py directory_reason;
   never the attempt's raw message, which is staff detail), action_required, and for a
   directory not submitted what became of it (replaced by which, refunded, being retried);
   then the listing's last live check in the customer's words, when it was made and its NAP
   match score (0 to 1).

3. Only when we opened accounts on directories for the customer, after one more empty line:
   the accounts, with the header `directory_id,directory,site_url,login,opened_at,password`.
   The password column never holds a password: it says where to see it (the job page's
   "Show password", which is audited). Passwords are never in a report.

Timestamps are ISO 8601 in UTC; empty cells are NULLs. A text cell that a spreadsheet would
run as a formula (starting with = + - @, tab or carriage return) is prefixed with an
apostrophe: directory sites write some of these messages, and a report must not run code.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

from portal.reports.live_checks import LastCheck
from portal.reports.progress import as_utc
from portal.reports.summary import ReportView

SUMMARY_HEADER = ("field", "value")
DIRECTORY_HEADER = (
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
)
ACCOUNT_HEADER = ("directory_id", "directory", "site_url", "login", "opened_at", "password")
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str | int:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return value
    if isinstance(value, datetime):
        moment = as_utc(value)
        assert moment is not None
        return moment.isoformat().replace("+00:00", "Z")
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _iso(value: Any) -> str | int:
    if isinstance(value, str) and value:
        try:
            return _cell(datetime.fromisoformat(value))
        except ValueError:
            return _cell(value)
    return _cell(value)


def password_pointer(report: ReportView, portal_url: str = "") -> str:
    """Where the customer sees an account's password (the report never holds one)."""
    page = f"{portal_url.rstrip('/')}/jobs/{report.job['id']}#accounts"
    return f"Not in this file: sign in and press Show password on your job page, {page}"


def _live_check_cells(check: LastCheck | None) -> tuple[str | int, ...]:
    if check is None:
        return ("", "", "")
    score = "" if check.nap_score is None else f"{check.nap_score:.3f}"
    return (_cell(check.text), _cell(check.checked_at), score)


def report_csv(report: ReportView, portal_url: str = "") -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    job = report.job
    writer.writerow(SUMMARY_HEADER)
    summary_rows: list[tuple[str, Any]] = [
        ("report", "DirectoryBolt submission report"),
        ("job_id", str(job["id"])),
        ("business", job.get("business_name")),
        ("package", job.get("tier")),
        ("job_status", job.get("status")),
        ("created_at", job.get("created_at")),
        ("started_at", report.started_at),
        ("completed_at", report.completed_at),
        ("seconds_to_complete", report.seconds_to_complete),
    ]
    summary_rows += [(line.key, line.value) for line in report.lines]
    summary_rows += [(line.key, line.value) for line in report.promise_lines]
    nap = job.get("nap")
    summary_rows.append(("nap_consistency", f"{nap.score:.3f}" if nap else None))
    summary_rows.append(("report_created_at", report.created_at))
    for key, value in summary_rows:
        writer.writerow((key, _iso(value)))
    writer.writerow(())
    writer.writerow(DIRECTORY_HEADER)
    for row in report.directories:
        writer.writerow(
            (
                _cell(row["directory_id"]),
                _cell(row["directory"]),
                _cell(row["status"]),
                _cell(int(row["attempts"])),
                _cell(row.get("last_outcome")),
                _cell(row.get("last_error_code")),
                _cell(row.get("listing_url")),
                _cell(row.get("submitted_at")),
                _cell(row.get("reason")),
                _cell(row.get("action_required")),
                _cell(row.get("fate")),
                *_live_check_cells(row.get("live_check")),
            )
        )
    if report.accounts:
        pointer = password_pointer(report, portal_url)
        writer.writerow(())
        writer.writerow(ACCOUNT_HEADER)
        for account in report.accounts:
            writer.writerow(
                (
                    _cell(account["directory_id"]),
                    _cell(account["directory"]),
                    _cell(account["site_url"]),
                    _cell(account["login"]),
                    _cell(account["created_at"]),
                    _cell(pointer),
                )
            )
    return "\ufeff" + buffer.getvalue()
