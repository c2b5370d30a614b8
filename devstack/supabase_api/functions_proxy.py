"""`/functions/v1/<name>`: the Edge Functions gateway, proxying to one Deno process per function.

Supabase serves a project's Edge Functions at `{SUPABASE_URL}/functions/v1/<name>`; its
gateway checks the caller's JWT (`verify_jwt`, on by default) and hands the request to the
function with the `/functions/v1` prefix removed. Here the functions run under plain Deno
(devstack/functions.py) and this router forwards to them: method, path below the name,
query string, headers, body and the response (status, headers, body) streamed both ways, so
server-sent events and large bodies pass through as they are produced.

As Supabase's gateway does: an `OPTIONS` (CORS preflight) reaches the function without a
token; any other method needs `Authorization: Bearer <JWT signed by the project key>` — an
API key (anon, service_role) or a user's access token — or gets 401 before the function runs.

Upstreams: `SUPABASE_FUNCTIONS=checkout=http://127.0.0.1:54340,…` in the environment, or
`create_app(..., functions={...})`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Mapping
from typing import cast

import httpx
from fastapi import APIRouter
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from devstack import jwt_keys
from devstack.functions import UPSTREAMS_ENV, parse_upstreams

log = logging.getLogger(__name__)

# The wall-clock limit Supabase gives a function on the free plan.
FUNCTION_TIMEOUT_SECONDS = 150.0
CONNECT_TIMEOUT_SECONDS = 5.0

# Hop-by-hop headers (RFC 9110 §7.6.1) belong to one connection, never forwarded; `host` is
# the upstream's own.
_HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)
_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


class FunctionsGateway:
    """The upstream of each function and one pooled HTTP client, closed with the app."""

    def __init__(self, upstreams: Mapping[str, str]) -> None:
        self.upstreams = dict(upstreams)
        self._client: httpx.AsyncClient | None = None

    @classmethod
    def from_env(cls) -> FunctionsGateway:
        return cls(parse_upstreams(os.environ.get(UPSTREAMS_ENV, "")))

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            # trust_env=False: a developer's HTTP(S)_PROXY must never capture loopback calls.
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(FUNCTION_TIMEOUT_SECONDS, connect=CONNECT_TIMEOUT_SECONDS),
                follow_redirects=False,
                trust_env=False,
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def install(app_state: object, upstreams: Mapping[str, str] | None) -> FunctionsGateway:
    gateway = FunctionsGateway(upstreams) if upstreams is not None else FunctionsGateway.from_env()
    app_state.functions_gateway = gateway  # type: ignore[attr-defined]
    return gateway


def _gateway(connection: HTTPConnection) -> FunctionsGateway | None:
    return cast(FunctionsGateway | None, getattr(connection.app.state, "functions_gateway", None))


def _message(status: int, message: str) -> JSONResponse:
    # The shape `supabase functions serve`'s gateway answers with.
    return JSONResponse({"msg": message}, status_code=status)


def _auth_error(request: Request) -> JSONResponse | None:
    header = request.headers.get("authorization")
    if not header:
        return _message(401, "Error: Missing authorization header")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return _message(401, "Error: Auth header is not 'Bearer {token}'")
    try:
        jwt_keys.verify(token.strip())
    except jwt_keys.TokenError:
        return _message(401, "Invalid JWT")
    return None


def _forwarded_headers(request: Request) -> list[tuple[bytes, bytes]]:
    headers = [
        (name, value)
        for name, value in request.headers.raw
        if name not in _HOP_BY_HOP and name != b"host"
    ]
    client = request.client.host if request.client else ""
    headers += [
        (b"x-forwarded-for", client.encode()),
        (b"x-forwarded-host", request.headers.get("host", "").encode()),
        (b"x-forwarded-proto", request.url.scheme.encode()),
    ]
    return headers


async def _request_body(request: Request) -> AsyncIterator[bytes]:
    async for chunk in request.stream():
        if chunk:
            yield chunk


router = APIRouter(prefix="/functions/v1", tags=["functions"])


@router.api_route("/{name}", methods=_METHODS)
async def invoke(name: str, request: Request) -> Response:
    return await _invoke(name, "", request)


@router.api_route("/{name}/{subpath:path}", methods=_METHODS)
async def invoke_subpath(name: str, subpath: str, request: Request) -> Response:
    return await _invoke(name, subpath, request)


async def _invoke(name: str, subpath: str, request: Request) -> Response:
    gateway = _gateway(request)
    upstream = gateway.upstreams.get(name) if gateway else None
    if gateway is None or upstream is None:
        return _message(404, "Function not found")
    if request.method != "OPTIONS":
        refused = _auth_error(request)
        if refused is not None:
            return refused

    has_body = "content-length" in request.headers or "transfer-encoding" in request.headers
    target = f"{upstream}/{name}" + (f"/{subpath}" if subpath else "")
    upstream_request = gateway.client.build_request(
        request.method,
        target,
        params=request.url.query or None,
        headers=_forwarded_headers(request),
        content=_request_body(request) if has_body else None,
    )
    try:
        upstream_response = await gateway.client.send(upstream_request, stream=True)
    except httpx.TimeoutException:
        log.warning(
            "edge function timed out", extra={"action": "functions.timeout", "function": name}
        )
        return _message(504, f"Function {name} did not answer in time")
    except httpx.TransportError as error:
        log.error(
            "edge function unreachable",
            extra={"action": "functions.unreachable", "function": name, "error": str(error)},
        )
        return _message(503, f"Function {name} is not running")

    async def body() -> AsyncIterator[bytes]:
        # Closed here rather than in a background task: a client that goes away mid-stream
        # cancels the response, and the upstream connection must be released either way.
        try:
            async for chunk in upstream_response.aiter_raw():
                yield chunk
        finally:
            await upstream_response.aclose()

    response = StreamingResponse(body(), status_code=upstream_response.status_code)
    # Raw pairs, so repeated headers (Set-Cookie, Vary) survive; content-encoding and
    # content-length stay true because the bytes are passed on undecoded.
    response.raw_headers = [
        (name_bytes, value)
        for name_bytes, value in upstream_response.headers.raw
        if name_bytes.lower() not in _HOP_BY_HOP
    ]
    return response
