"""Stripe's REST API under /v1, as far as DirectoryBolt uses it.

`POST /v1/checkout/sessions`, `GET /v1/checkout/sessions[/{id}[/line_items]]`,
`POST /v1/checkout/sessions/{id}/expire`, `GET /v1/prices[/{id}]`, `GET /v1/events/{id}`.
Requests are form-encoded as Stripe's are and authenticated with the secret key (Bearer, or
Basic with the key as user name, as curl -u sends it). `Idempotency-Key` is honoured on
POSTs: the same key and parameters replay the first answer.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
from typing import Annotated, Any, cast

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from devstack.stripe.account import Account, IdempotentReply
from devstack.stripe.errors import StripeError, bad_param
from devstack.stripe.forms import decode_form, decode_pairs
from devstack.stripe.ids import request_id
from devstack.stripe.objects import line_items_list
from devstack.stripe.session_params import metadata as checked_metadata
from devstack.stripe.session_params import parse_expand, parse_session_request

log = logging.getLogger(__name__)

_NO_KEY = (
    "You did not provide an API key. You need to provide your API key in the Authorization "
    "header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See "
    "https://stripe.com/docs/api#authentication for details, or we can help at "
    "https://support.stripe.com/."
)


def current_account(request: Request) -> Account:
    return cast(Account, request.app.state.account)


AccountDep = Annotated[Account, Depends(current_account)]


def _presented_key(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() == "bearer":
        return credentials.strip()
    if scheme.lower() == "basic":
        try:
            user, _, _ = base64.b64decode(credentials.strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return ""
        return user
    return None


def _masked(key: str) -> str:
    # Stripe echoes a wrong key masked; here only its prefix and last four characters.
    prefix = key[:8] if key.startswith(("sk_test_", "sk_live_", "rk_test_")) else ""
    return prefix + "*" * max(len(key) - len(prefix) - 4, 0) + key[-4:]


def authorise(request: Request, account: AccountDep) -> None:
    key = _presented_key(request)
    if not key:
        raise StripeError(401, _NO_KEY)
    if not hmac.compare_digest(key.encode(), account.settings.secret_key.encode()):
        log.info(
            "api key refused",
            extra={"action": "stripe.auth_refused", "path": request.url.path},
        )
        raise StripeError(401, f"Invalid API Key provided: {_masked(key)}")


router = APIRouter(prefix="/v1", tags=["Stripe API"], dependencies=[Depends(authorise)])


def reply(body: dict[str, Any], status: int = 200, replayed: bool = False) -> JSONResponse:
    headers = {"Request-Id": request_id()}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(body, status_code=status, headers=headers)


async def _form(request: Request) -> dict[str, Any]:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/json"):
        raise StripeError(
            400,
            "Invalid request: Stripe's API takes application/x-www-form-urlencoded bodies, "
            "not JSON.",
        )
    params = decode_pairs(list(request.query_params.multi_items()))
    return params | decode_form(await request.body())


def _query(request: Request) -> dict[str, Any]:
    return decode_pairs(list(request.query_params.multi_items()))


def _limit(params: dict[str, Any]) -> int:
    value = params.get("limit", "10")
    if not isinstance(value, str) or not value.isdigit() or not 1 <= int(value) <= 100:
        raise bad_param("limit", "Invalid limit: must be an integer between 1 and 100.")
    return int(value)


@router.post("/checkout/sessions")
async def create_checkout_session(request: Request, account: AccountDep) -> JSONResponse:
    body = await request.body()
    key = request.headers.get("idempotency-key")
    fingerprint = hashlib.sha256(body).hexdigest()
    if key:
        earlier = account.idempotent.get(key)
        if earlier is not None:
            if earlier.fingerprint != fingerprint:
                raise StripeError(
                    400,
                    "Keys for idempotent requests can only be used with the same parameters "
                    "they were first used with. Try using a key other than "
                    f"'{key}' if you meant to execute a different request.",
                    type_="idempotency_error",
                )
            return reply(earlier.body, earlier.status, replayed=True)
    # A request refused by validation is not remembered (Stripe saves a result only once the
    # endpoint started executing), so a corrected retry under the same key goes through.
    params = await _form(request)
    session_request = parse_session_request(params, account.settings)
    session = account.create_session(session_request, str(request.base_url).rstrip("/"))
    answer = session.to_json("line_items" in session_request.expand)
    if key:
        account.idempotent[key] = IdempotentReply(fingerprint, 200, answer)
    return reply(answer)


@router.get("/checkout/sessions")
async def list_checkout_sessions(request: Request, account: AccountDep) -> JSONResponse:
    params = _query(request)
    limit = _limit(params)
    payment_intent = params.get("payment_intent")
    sessions = [
        s
        for s in reversed(account.sessions.values())
        if payment_intent is None or s.payment_intent == payment_intent
    ]
    return reply(
        {
            "object": "list",
            "data": [s.to_json() for s in sessions[:limit]],
            "has_more": len(sessions) > limit,
            "url": "/v1/checkout/sessions",
        }
    )


@router.get("/checkout/sessions/{session_id}")
async def retrieve_checkout_session(
    session_id: str, request: Request, account: AccountDep
) -> JSONResponse:
    expand = parse_expand(_query(request).get("expand"))
    session = account.session(session_id)
    return reply(session.to_json("line_items" in expand))


@router.post("/checkout/sessions/{session_id}")
async def update_checkout_session(
    session_id: str, request: Request, account: AccountDep
) -> JSONResponse:
    """Stripe's "Update a Checkout Session", as far as metadata goes (what our checkout uses
    to sign the session it created): keys are merged, an empty value unsets one, an empty
    `metadata` unsets all."""
    params = await _form(request)
    for name in params:
        if name not in ("metadata", "expand"):
            raise bad_param(name, f"Received unknown parameter: {name}", "parameter_unknown")
    expand = parse_expand(params.get("expand"))
    session = account.session(session_id)
    raw = params.get("metadata")
    if raw == "":
        merged: dict[str, str] = {}
    elif raw is None:
        merged = dict(session.metadata)
    elif isinstance(raw, dict):
        merged = dict(session.metadata)
        for key, value in raw.items():
            if value == "":
                merged.pop(key, None)
            else:
                merged[key] = value
    else:
        raise bad_param("metadata", "Invalid hash: metadata must be a set of key-value pairs.")
    session.metadata = checked_metadata(merged, "metadata")
    return reply(session.to_json("line_items" in expand))


@router.get("/checkout/sessions/{session_id}/line_items")
async def list_line_items(session_id: str, account: AccountDep) -> JSONResponse:
    return reply(line_items_list(account.session(session_id)))


@router.post("/checkout/sessions/{session_id}/expire")
async def expire_checkout_session(session_id: str, account: AccountDep) -> JSONResponse:
    session = account.session(session_id)
    await account.expire(session)
    return reply(session.to_json())


@router.get("/prices")
async def list_prices(request: Request, account: AccountDep) -> JSONResponse:
    limit = _limit(_query(request))
    prices = account.prices()
    return reply(
        {
            "object": "list",
            "data": prices[:limit],
            "has_more": len(prices) > limit,
            "url": "/v1/prices",
        }
    )


@router.get("/prices/{price_id}")
async def retrieve_price(price_id: str, account: AccountDep) -> JSONResponse:
    return reply(account.price(price_id))


@router.get("/events/{event_id}")
async def retrieve_event(event_id: str, account: AccountDep) -> JSONResponse:
    return reply(account.event(event_id).to_json())


@router.api_route("/{path:path}", methods=["GET", "POST", "DELETE"], include_in_schema=False)
async def unrecognised(path: str, request: Request) -> JSONResponse:
    raise StripeError(
        404,
        f"Unrecognized request URL ({request.method}: /v1/{path}). The local Stripe stand-in "
        "covers checkout sessions, prices and events only.",
    )
