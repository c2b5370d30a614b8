"""FastAPI dependencies: the app state, and who is calling (worker or staff).

Every dependency is `async def` although none awaits anything: FastAPI runs a plain `def`
dependency in its thread pool, and on the worker routes that was two thread hand-offs per
request (require_worker and get_state), each a trip through the GIL that cost more than the
dependency itself (bench/orchestrator measured it).
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import Depends, Header, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from dbolt.contracts import ErrorBody
from orchestrator.state import AppState

_bearer = HTTPBearer(auto_error=False, description="Bearer token")


async def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.orchestrator
    return state


State = Annotated[AppState, Depends(get_state)]
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def _check(credentials: HTTPAuthorizationCredentials | None, expected: str) -> None:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing bearer token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    # Constant time, so the key cannot be guessed byte by byte from response times.
    if not hmac.compare_digest(credentials.credentials.encode(), expected.encode()):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "wrong bearer token")


async def require_worker(request: Request, credentials: Credentials) -> None:
    # The state straight from the app, not through get_state: one dependency fewer to solve
    # on every worker request (the route's own `State` still resolves it once).
    state: AppState = request.app.state.orchestrator
    _check(credentials, state.settings.worker_token.get_secret_value())


async def staff_actor(
    state: State,
    credentials: Credentials,
    x_actor: Annotated[
        str | None,
        Header(
            max_length=200,
            pattern=r"^[A-Za-z0-9._@+:-]+$",
            description="Who is acting (e.g. the staff user's email); recorded in the audit log",
        ),
    ] = None,
) -> str:
    _check(credentials, state.settings.staff_api_key.get_secret_value())
    return f"staff:{x_actor}" if x_actor else "staff:api"


WorkerAuth = Depends(require_worker)
# What every worker route may answer besides its own result (OpenAPI `responses`).
WORKER_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "No bearer token"},
    403: {"model": ErrorBody, "description": "Wrong worker token"},
    503: {"model": ErrorBody, "description": "Database unreachable: retry after Retry-After"},
}
StaffActor = Annotated[str, Depends(staff_actor)]
