"""One mapping from domain errors to HTTP answers."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse

from dbolt.sql import (
    BusinessIncomplete,
    Conflict,
    DatabaseUnavailable,
    DomainError,
    InvalidArgument,
    InvalidTransition,
    LeaseLost,
    NotFound,
)

log = logging.getLogger(__name__)

_STATUS: list[tuple[type[DomainError], int, str]] = [
    (LeaseLost, status.HTTP_409_CONFLICT, "lease_lost"),
    (InvalidTransition, status.HTTP_409_CONFLICT, "invalid_transition"),
    (Conflict, status.HTTP_409_CONFLICT, "conflict"),
    (NotFound, status.HTTP_404_NOT_FOUND, "not_found"),
    (BusinessIncomplete, status.HTTP_422_UNPROCESSABLE_CONTENT, "business_incomplete"),
    (InvalidArgument, status.HTTP_422_UNPROCESSABLE_CONTENT, "invalid_argument"),
]


def install(app: FastAPI, retry_after_seconds: int) -> None:
    async def database_unavailable(request: Request, error: Exception) -> JSONResponse:
        return JSONResponse(
            {"error": "unavailable", "detail": "the database is unreachable; retry later"},
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(retry_after_seconds)},
        )

    async def domain_error(request: Request, error: Exception) -> JSONResponse:
        for error_class, code, name in _STATUS:
            if isinstance(error, error_class):
                return JSONResponse({"error": name, "detail": str(error)}, status_code=code)
        log.error(
            "unmapped domain error", extra={"action": "http.unmapped_error", "error": repr(error)}
        )
        return JSONResponse({"error": "error", "detail": str(error)}, status_code=500)

    app.add_exception_handler(DatabaseUnavailable, database_unavailable)
    app.add_exception_handler(DomainError, domain_error)
