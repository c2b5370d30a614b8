"""One mapping from failures to what the visitor sees: a page for people, JSON for scripts."""

from __future__ import annotations

import logging
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import HTTPException
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, RedirectResponse, Response

from dbolt.sql import DatabaseUnavailable, NotFound
from portal.templating import render

log = logging.getLogger(__name__)

_TITLES = {
    400: "That did not work",
    403: "Not allowed",
    404: "Not found",
    413: "Too large",
    422: "Please check what you entered",
    503: "Temporarily unavailable",
}


class SignInRequired(Exception):
    """A signed-out visitor asked for a page that needs an account."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def _wants_html(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "text/html" in accept or (accept in ("", "*/*") and request.method == "GET")


def error_response(request: Request, status: int, message: str) -> Response:
    if _wants_html(request):
        return render(
            request,
            "error.html",
            status_code=status,
            status=status,
            title=_TITLES.get(status, "Something went wrong"),
            message=message,
        )
    return JSONResponse({"detail": message}, status_code=status)


def install(app: FastAPI) -> None:
    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, error: SignInRequired) -> Response:
        return RedirectResponse(
            f"/sign-in?next={quote(error.next_path, safe='/')}", status_code=303
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> Response:
        response = error_response(request, error.status_code, str(error.detail))
        for name, value in (error.headers or {}).items():
            response.headers[name] = value
        return response

    @app.exception_handler(NotFound)
    async def _not_found(request: Request, error: NotFound) -> Response:
        return error_response(request, 404, "There is nothing here, or it is not yours to see.")

    @app.exception_handler(DatabaseUnavailable)
    async def _unavailable(request: Request, error: DatabaseUnavailable) -> Response:
        log.warning("database unreachable", extra={"action": "portal.database_unavailable"})
        response = error_response(
            request, 503, "We cannot reach our database right now. Please try again in a minute."
        )
        response.headers["Retry-After"] = "30"
        return response


__all__ = ["HTTPException", "SignInRequired", "error_response", "install"]
