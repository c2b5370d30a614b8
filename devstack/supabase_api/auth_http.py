"""Errors and request plumbing shared by the Auth stand-in's routes, in GoTrue's wire shapes.

GoTrue answers an error as `{"code": 400, "error_code": "...", "msg": "..."}`, or, when the
request carries `X-Supabase-Api-Version: 2024-01-01` (supabase-py always sends it), as
`{"code": "...", "message": "..."}` with the header echoed. supabase-py reads `code` /
`error_code` into `AuthApiError.code` and `msg` / `message` into its message, so both shapes
are kept exactly. The API gateway in front of GoTrue (Kong) answers a missing or foreign API
key itself, with `{"message", "hint"}` and 401.

FastAPI's own validation errors would come back as `{"detail": [...]}`, which the client
cannot read, so bodies are parsed here and every failure becomes a GoTrue error that names
the field.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from datetime import datetime
from typing import Any, TypeVar

from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from psycopg_pool import PoolTimeout
from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from dbolt.sql import Conflict, DatabaseUnavailable, InvalidArgument

log = logging.getLogger(__name__)

API_VERSION_HEADER = "X-Supabase-Api-Version"
API_VERSION_2024_01_01 = "2024-01-01"

Model = TypeVar("Model", bound=BaseModel)


class GoTrueError(Exception):
    """An error GoTrue would return: HTTP status, machine-readable code, human message.

    `extra` adds fields GoTrue sends beside them (`weak_password`), or the OAuth names
    (`error`, `error_description`) that older GoTrue releases used for refresh failures.
    """

    def __init__(
        self, status: int, error_code: str, message: str, extra: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.message = message
        self.extra = dict(extra or {})


def bad_request(error_code: str, message: str, **extra: Any) -> GoTrueError:
    return GoTrueError(400, error_code, message, extra)


def unauthorized(error_code: str, message: str) -> GoTrueError:
    return GoTrueError(401, error_code, message)


def forbidden(error_code: str, message: str) -> GoTrueError:
    return GoTrueError(403, error_code, message)


def not_found(error_code: str, message: str) -> GoTrueError:
    return GoTrueError(404, error_code, message)


def unprocessable(error_code: str, message: str, **extra: Any) -> GoTrueError:
    return GoTrueError(422, error_code, message, extra)


def too_many_requests(error_code: str, message: str) -> GoTrueError:
    return GoTrueError(429, error_code, message)


def validation_failed(message: str) -> GoTrueError:
    return bad_request("validation_failed", message)


class GatewayError(Exception):
    """Refused by the API gateway before GoTrue sees the request (a bad or missing API key)."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def _wants_2024_shape(request: Request) -> bool:
    requested = request.headers.get(API_VERSION_HEADER, "")
    try:
        return datetime.strptime(requested, "%Y-%m-%d") >= datetime(2024, 1, 1)
    except ValueError:
        return False


def error_response(request: Request, error: GoTrueError) -> JSONResponse:
    if _wants_2024_shape(request):
        body: dict[str, Any] = {"code": error.error_code, "message": error.message}
        headers = {API_VERSION_HEADER: API_VERSION_2024_01_01}
    else:
        body = {"code": error.status, "error_code": error.error_code, "msg": error.message}
        headers = {}
    body.update(error.extra)
    return JSONResponse(body, status_code=error.status, headers=headers)


def _field_name(location: tuple[Any, ...]) -> str:
    parts = [str(part) for part in location if part not in ("body", "query", "path")]
    return ".".join(parts) or "body"


def _validation_message(error: ValidationError | RequestValidationError) -> str:
    problems = [f"{_field_name(tuple(item['loc']))}: {item['msg']}" for item in error.errors()[:5]]
    return "; ".join(problems)


async def _handle(request: Request, call: Callable[[Request], Awaitable[Response]]) -> Response:
    try:
        return await call(request)
    except GoTrueError as error:
        if error.status >= 500:
            log.error(
                "auth request failed",
                extra={"action": "auth.request_failed", "path": request.url.path},
            )
        return error_response(request, error)
    except GatewayError as error:
        return JSONResponse({"message": error.message, "hint": error.hint}, status_code=401)
    except RequestValidationError as error:
        return error_response(request, validation_failed(_validation_message(error)))
    except InvalidArgument as error:
        return error_response(request, validation_failed(str(error)))
    except Conflict as error:
        return error_response(request, GoTrueError(409, "conflict", str(error)))
    except (DatabaseUnavailable, PoolTimeout) as error:
        # 503 makes supabase-py raise AuthRetryableError, so a client keeps its session and
        # retries instead of signing the user out over a database blip.
        log.error(
            "auth database unavailable",
            extra={"action": "auth.database_unavailable", "error": str(error)},
        )
        return error_response(
            request, GoTrueError(503, "unexpected_failure", "Database is unavailable")
        )
    except Exception:
        # GoTrue's recoverer: a bug answers 500 in GoTrue's shape, details stay in the log.
        log.exception(
            "auth request crashed", extra={"action": "auth.crashed", "path": request.url.path}
        )
        return error_response(
            request,
            GoTrueError(
                500,
                "unexpected_failure",
                "Unexpected failure, please check server logs for more information",
            ),
        )


class GoTrueRoute(APIRoute):
    """A route whose failures leave as GoTrue (or gateway) JSON errors, never FastAPI's."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            return await _handle(request, original)

        return handler


async def read_body(request: Request) -> dict[str, Any]:
    """The JSON object in the request body; an empty body reads as `{}`."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise bad_request("bad_json", f"Could not parse request body as JSON: {error}") from error
    if not isinstance(body, dict):
        raise bad_request("bad_json", "Could not parse request body as JSON: not an object")
    return body


def parse_params(model: type[Model], body: Mapping[str, Any]) -> Model:
    """`body` validated as `model`; a bad field becomes a 400 naming it."""
    try:
        return model.model_validate(body)
    except ValidationError as error:
        raise validation_failed(_validation_message(error)) from error


def merge_metadata(current: Mapping[str, Any] | None, update: Mapping[str, Any]) -> dict[str, Any]:
    """GoTrue's metadata update: keys are set, a key set to null is removed."""
    merged = dict(current or {})
    for key, value in update.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged
