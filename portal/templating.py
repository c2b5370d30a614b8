"""Jinja2 pages: every template sees who is signed in and the portal's public URL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.templating import Jinja2Templates
from starlette.requests import Request
from starlette.responses import HTMLResponse

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
STATIC_DIR = Path(__file__).resolve().parent / "static"

templates = Jinja2Templates(directory=TEMPLATES_DIR)


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    state = getattr(request.app.state, "portal", None)
    base: dict[str, Any] = {
        "viewer": getattr(request.state, "viewer", None),
        "portal_url": state.settings.portal_url if state is not None else "",
    }
    return templates.TemplateResponse(request, name, {**base, **context}, status_code=status_code)
