"""Screenshots and page HTML the workers kept for an attempt, served to staff safely.

The URL never carries a path: it names a job, an attempt and a kind (screenshot or html),
and the file comes from that attempt's `artifacts` record. The recorded path is resolved
inside ARTIFACTS_DIR, and anything that would land outside it (`..`, an absolute path
elsewhere, a symlink out) is refused. Page HTML is served under a sandboxing CSP, so a
directory site's scripts never run in the portal's origin.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Literal

from fastapi import HTTPException
from starlette.responses import FileResponse

from dbolt.sql import NotFound
from portal.state import PortalState
from portal.viewer import Viewer

Kind = Literal["screenshot", "html"]
MEDIA_TYPES: dict[str, str] = {"screenshot": "image/png", "html": "text/html; charset=utf-8"}
SUFFIXES: dict[str, str] = {"screenshot": ".png", "html": ".html"}
# A saved page may be hostile: no scripts, no plugins, no requests, its own opaque origin.
HTML_HEADERS = {
    "Content-Security-Policy": (
        "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "private, no-store",
}
IMAGE_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"}


class ArtifactRefused(Exception):
    """No such artifact, or its recorded path is not inside the artifacts folder."""


def resolve(artifacts_dir: Path, recorded: object, kind: Kind) -> Path:
    """The file for a recorded artifact path, guaranteed inside `artifacts_dir`."""
    if not isinstance(recorded, str) or not recorded or "\x00" in recorded:
        raise ArtifactRefused("no such artifact")
    root = artifacts_dir.resolve()
    path = Path(recorded)
    if not path.suffix == SUFFIXES[kind]:
        raise ArtifactRefused("unexpected file type")
    candidates = [path] if path.is_absolute() else []
    # Workers record the path as they wrote it (often relative to their own working
    # directory, e.g. .local/artifacts/<job>/<dir>-1.png): find it under our root by the
    # part after the artifacts folder's name, or else relative to the root itself.
    parts = path.parts
    if root.name in parts:
        index = len(parts) - 1 - parts[::-1].index(root.name)
        candidates.append(root.joinpath(*parts[index + 1 :]))
    if not path.is_absolute():
        candidates.append(root / path)
    for candidate in candidates:
        resolved = candidate.resolve()
        if not resolved.is_relative_to(root) or resolved == root:
            continue
        if resolved.is_file():
            return resolved
    raise ArtifactRefused("no such artifact")


def kept(artifacts_dir: Path, recorded: object) -> dict[str, bool]:
    """For each artifact an attempt recorded, whether its file is still there to show.

    Workers delete them after ARTIFACTS_RETENTION_DAYS (worker/retention.py) without
    touching the attempt's record, so the page checks the folder instead of offering a
    link that would only 404."""
    if not isinstance(recorded, dict):
        return {}
    found: dict[str, bool] = {}
    for kind in ("screenshot", "html"):
        if recorded.get(kind):
            try:
                resolve(artifacts_dir, recorded[kind], kind)
                found[kind] = True
            except ArtifactRefused:
                found[kind] = False
    return found


async def attempt_file(
    state: PortalState, viewer: Viewer, job_id: uuid.UUID, attempt_id: int, kind: Kind
) -> FileResponse:
    """The attempt's kept screenshot or page, under the staff user's JWT; 404 when the
    attempt is not there or its file was not kept."""
    async with state.db.as_viewer(viewer) as q:
        row = await q.fetch_one("job_results_get_artifacts", job_id=job_id, attempt_id=attempt_id)
    if row is None:
        raise NotFound(f"attempt {attempt_id} of job {job_id} not found")
    try:
        path = resolve(state.settings.artifacts_dir, row["artifacts"].get(kind), kind)
    except ArtifactRefused as error:
        raise HTTPException(404, f"No {kind} was kept for this attempt ({error}).") from None
    headers = HTML_HEADERS if kind == "html" else IMAGE_HEADERS
    return FileResponse(
        path,
        media_type=MEDIA_TYPES[kind],
        headers=dict(headers),
        content_disposition_type="inline",
        filename=f"job-{job_id}-attempt-{attempt_id}{SUFFIXES[kind]}",
    )
