"""The sandbox's own pages: an index of the sites (for the demo) and the sample logo."""

from __future__ import annotations

from functools import cache
from html import escape

from fastapi import APIRouter
from starlette.responses import HTMLResponse, Response

from devstack.sandbox import catalog
from devstack.sandbox.lifecycle_state import LIFECYCLE_SITES
from devstack.sandbox.pages import page
from devstack.sandbox.png import sample_logo

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
async def index() -> HTMLResponse:
    items = "\n".join(
        f'<li><a href="/{site.name}/">{escape(site.title)}</a> — {escape(site.behaviour)}'
        f" (<code>sandbox-{site.name}</code>)</li>"
        for site in catalog.SITES
        if site.name not in catalog.NOT_SERVED
    )
    lifecycle = "\n".join(
        f'<li><a href="/{site.name}/">{escape(site.title)}</a> — {escape(site.behaviour)}'
        f" (<code>{site.name}</code>)</li>"
        for site in LIFECYCLE_SITES
    )
    body = (
        "<h1>DirectoryBolt sandbox</h1>\n<p>Fake business directories for tests and the demo."
        "</p>\n"
        f"<ul>\n{items}\n</ul>\n<h2>The listing lifecycle</h2>\n<ul>\n{lifecycle}\n</ul>\n"
        '<p>Admin: <a href="/_admin/submissions">submissions</a>, '
        '<a href="/_admin/lifecycle">lifecycle</a>, '
        "<code>POST /_admin/reset</code>.</p>"
    )
    return page("DirectoryBolt sandbox", body)


@cache
def _logo() -> bytes:
    return sample_logo()


@router.get("/static/logo.png")
async def logo() -> Response:
    return Response(_logo(), media_type="image/png")
