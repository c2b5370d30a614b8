"""Stripe's REST API under /v1, as far as DirectoryBolt calls it.

`POST /v1/refunds` (the webhook service refunds a job's shortfall, with an Idempotency-Key),
`POST /v1/checkout/sessions` and `POST /v1/checkout/sessions/{id}` (the checkout Edge
Function creates a session, then signs its metadata), `GET /v1/checkout/sessions/{id}` (the
portal's onboarding page), `GET /v1/prices` (the portal's pricing page). Requests are
form-encoded as Stripe's are and authenticated with the secret key as a Bearer token. Any
other /v1 path is Stripe's 404, so product code cannot come to rely on one unnoticed.
"""

from __future__ import annotations

import hmac
import logging
from typing import Annotated, Any, cast

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from devstack.stripe.account import Account
from devstack.stripe.errors import StripeError, bad_param
from devstack.stripe.forms import decode_form, decode_pairs
from devstack.stripe.ids import request_id
from devstack.stripe.session_params import metadata as checked_metadata
from devstack.stripe.session_params import parse_session_request

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
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else None


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


def reply(body: dict[str, Any]) -> JSONResponse:
    return JSONResponse(body, headers={"Request-Id": request_id()})


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
    session_request = parse_session_request(await _form(request), account.settings)
    session = account.create_session(session_request, str(request.base_url).rstrip("/"))
    return reply(session.to_json())


@router.get("/checkout/sessions/{session_id}")
async def retrieve_checkout_session(session_id: str, account: AccountDep) -> JSONResponse:
    return reply(account.session(session_id).to_json())


@router.post("/checkout/sessions/{session_id}")
async def update_checkout_session(
    session_id: str, request: Request, account: AccountDep
) -> JSONResponse:
    """Stripe's "Update a Checkout Session", as far as metadata goes (what our checkout uses
    to sign the session it created): keys are merged, an empty value unsets one, an empty
    `metadata` unsets all."""
    params = await _form(request)
    for name in params:
        if name != "metadata":
            raise bad_param(name, f"Received unknown parameter: {name}", "parameter_unknown")
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


_REFUND_REASONS = frozenset({"duplicate", "fraudulent", "requested_by_customer"})
_REFUND_PARAMS = frozenset({"payment_intent", "charge", "amount", "reason", "metadata"})


@router.post("/refunds")
async def create_refund(request: Request, account: AccountDep) -> JSONResponse:
    """Stripe's "Create a refund": of a payment intent's (or a charge's) charge, all that
    remains or `amount`; emits charge.refunded. Idempotent per Idempotency-Key."""
    key = account.idempotency.key_of(request.headers.get("idempotency-key"))
    params = await _form(request)
    saved = account.idempotency.replay(key, "/v1/refunds", params)
    if saved is not None:
        return JSONResponse(
            saved.body,
            status_code=saved.status,
            headers={"Request-Id": request_id(), "Idempotent-Replayed": "true"},
        )
    for name in params:
        if name not in _REFUND_PARAMS:
            raise bad_param(name, f"Received unknown parameter: {name}", "parameter_unknown")
    intent, charge_id = params.get("payment_intent"), params.get("charge")
    if not intent and not charge_id:
        raise StripeError(
            400,
            "One of the following params should be provided for this request: "
            "payment_intent or charge.",
        )
    amount = params.get("amount")
    if amount is not None and (not isinstance(amount, str) or not amount.isdigit()):
        raise bad_param("amount", "Invalid integer: " + str(amount))
    reason = params.get("reason")
    if reason is not None and reason not in _REFUND_REASONS:
        raise bad_param(
            "reason", f"Invalid reason: must be one of {', '.join(sorted(_REFUND_REASONS))}"
        )
    metadata = checked_metadata(params.get("metadata") or {}, "metadata")
    charge = (
        account.charge_for_intent(str(intent)) if intent else account.charge_by_id(str(charge_id))
    )
    if intent and charge_id and charge.id != charge_id:
        raise bad_param("charge", f"Charge {charge_id} does not belong to payment intent {intent}.")
    # From here the request is executing: its answer, refusal included, is saved for the key.
    request_name = request_id()
    try:
        refund = account.check_refund(
            charge, int(amount) if amount is not None else None, reason, metadata
        )
    except StripeError as error:
        account.idempotency.save(key, "/v1/refunds", params, error.status, error.body())
        raise
    await account.make_refund(refund, request_name)
    body = refund.to_json()
    account.idempotency.save(key, "/v1/refunds", params, 200, body)
    return JSONResponse(body, headers={"Request-Id": request_name})


@router.api_route("/{path:path}", methods=["GET", "POST", "DELETE"], include_in_schema=False)
async def unrecognised(path: str, request: Request) -> JSONResponse:
    raise StripeError(
        404,
        f"Unrecognized request URL ({request.method}: /v1/{path}). The local Stripe stand-in "
        "covers what DirectoryBolt calls: checkout sessions, the price list and refunds.",
    )
