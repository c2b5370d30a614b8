"""GET /jobs/{id}/events: the customer's job, sent again whenever it changes.

The relay (portal.live) follows every job's changes through the process's one Realtime socket;
a broadcast about this job only wakes the stream, which re-reads the job under
the JWT and sends what changed: what it sends is always the database's state. A comment line
goes out every 15 s to keep proxies from closing an idle stream, and the job is re-read on a
timer too — every 10 s while Realtime is away, every 60 s while it is up, since Realtime does
not replay what it missed while disconnected. The stream ends when the access token expires;
the browser's EventSource reconnects by itself and the session middleware refreshes the
cookie then.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

from dbolt.sql import DatabaseUnavailable, NotFound
from dbolt.words import noun_for
from portal.jobs.reads import read_job, report_url
from portal.live import ALL_JOBS_TOPIC, Feed, relaying, sse, token_expires_at
from portal.reports.progress import JobProgress, build_progress
from portal.state import PortalState
from portal.templating import templates
from portal.viewer import Viewer

log = logging.getLogger(__name__)

TIMING_EXTRA = "portal_jobs.stream_timing"
LIVE_EVENTS = ("job_status", "progress")


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
    # EventSource waits this long before reconnecting after the stream ends.
    client_retry_ms: int = 3000


def stream_timing(state: PortalState) -> StreamTiming:
    timing = state.extras.setdefault(TIMING_EXTRA, StreamTiming())
    assert isinstance(timing, StreamTiming)
    return timing


# -- what changed ----------------------------------------------------------------------------
def _row_key(row: Mapping[str, Any]) -> tuple[Any, ...]:
    return (
        row["status"],
        row["attempts"],
        row["listing_url"],
        row["action_required"],
        row["last_error_code"],
        row["submitted_at"],
        row.get("fate"),
    )


def _render_partial(name: str, **context: Any) -> str:
    return templates.env.get_template(name).render(**context)


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
            if report_url(progress):
                announce += " Your report is ready."
        elif needing:
            names = ", ".join(str(row["directory"]) for row in needing)
            announce = f"{names} {noun_for(len(needing), 'needs', 'need')} your action."
            urgent = True
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
        "report_url": report_url(progress),
        "final": progress.is_final,
        "announce": announce,
        "urgent": urgent,
        "live": live,
    }
    return message, now_seen


# -- the stream ------------------------------------------------------------------------------
class _Wake:
    """Set by the relay on every broadcast about the job, on joining and on losing Realtime."""

    def __init__(self, job_key: str) -> None:
        self.job_key = job_key
        self.event = asyncio.Event()
        self.live = False

    def joined(self) -> None:
        self.live = True
        # Whatever happened between our last read and the join: read again.
        self.event.set()

    def broadcast(self, event: str, payload: dict[str, Any]) -> None:
        if str(payload.get("job_id")) == self.job_key:
            self.event.set()

    def lost(self, error: Exception | None) -> None:
        if error is not None:
            log.info(
                "job stream without realtime; re-reading on a timer",
                extra={"action": "portal.job_stream_realtime_lost", "error": str(error)},
            )
        self.live = False
        self.event.set()


async def job_events(state: PortalState, viewer: Viewer, job_id: uuid.UUID) -> AsyncIterator[str]:
    timing = stream_timing(state)
    # Every job's changes go to the topic; the hub wakes this stream for this job only.
    feed = Feed(ALL_JOBS_TOPIC, LIVE_EVENTS)
    wake = _Wake(str(job_id))
    # The stream ends with the access token; EventSource comes back with a refreshed one.
    token_ends = token_expires_at(viewer)
    seen: _Seen | None = None
    event_id = 0
    try:
        async with relaying(state, feed, wake, wake.job_key):
            yield f"retry: {timing.client_retry_ms}\n\n"
            next_read = 0.0
            next_beat = time.monotonic() + timing.heartbeat_seconds
            while time.time() < token_ends:
                if wake.event.is_set() or time.monotonic() >= next_read:
                    if wake.event.is_set() and seen is not None:
                        await asyncio.sleep(timing.coalesce_seconds)
                    wake.event.clear()
                    try:
                        job, directories, _ = await read_job(state, viewer, job_id)
                    except DatabaseUnavailable:
                        log.warning(
                            "job stream could not read the job; retrying on the timer",
                            extra={"action": "portal.job_stream_db_unavailable"},
                        )
                    except NotFound:
                        yield sse("gone", {"job_id": str(job_id)}, event_id + 1)
                        return
                    else:
                        progress = build_progress(job, directories)
                        message, seen = live_update(progress, seen, wake.live)
                        if message is not None:
                            event_id += 1
                            yield sse("state", message, event_id)
                            next_beat = time.monotonic() + timing.heartbeat_seconds
                    interval = timing.live_reread_seconds if wake.live else timing.reread_seconds
                    next_read = time.monotonic() + interval
                if time.monotonic() >= next_beat:
                    yield ": keepalive\n\n"
                    next_beat = time.monotonic() + timing.heartbeat_seconds
                wait = min(next_read, next_beat) - time.monotonic()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        wake.event.wait(), max(0.0, min(wait, token_ends - time.time()))
                    )
    finally:
        log.debug("job stream closed", extra={"action": "portal.job_stream_closed"})
