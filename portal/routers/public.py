"""GET / and /pricing (the four packages); POST /checkout (Stripe Checkout via Edge Function)."""

from __future__ import annotations

import logging
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from dbolt.sql import InvalidArgument
from portal.dependencies import MaybeViewer, PortalStateDep
from portal.pricing import format_amount, stripe_prices
from portal.state import PortalState
from portal.templating import render

log = logging.getLogger(__name__)
router = APIRouter(tags=["customer"])

FEATURES = {
    "starter": "Core national directories and maps",
    "growth": "Adds regional and industry directories",
    "professional": "Adds niche and local citation sites",
    "enterprise": "Every directory we support, proxy-protected",
}


async def _tiers(state: PortalState, viewer: MaybeViewer) -> list[dict[str, Any]]:
    # The package list is public (anon may read it); a signed-in visitor reads it as themself.
    if viewer is not None:
        async with state.db.as_viewer(viewer) as q:
            return await q.fetch_all("tiers_list")
    async with state.db.as_service() as q:
        return await q.fetch_all("tiers_list")


async def pricing_page(
    request: Request,
    state: PortalState,
    viewer: MaybeViewer,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    prices = await stripe_prices(state)
    packages = []
    for tier in await _tiers(state, viewer):
        price = prices.get(tier["name"], {})
        packages.append(
            {
                **tier,
                "title": str(tier["name"]).title(),
                "price": format_amount(price.get("unit_amount"), price.get("currency")),
                "feature": FEATURES.get(tier["name"], ""),
            }
        )
    return render(
        request,
        "pricing.html",
        status_code=status_code,
        packages=packages,
        cancelled=request.query_params.get("cancelled") == "1",
        error=error,
    )


@router.get("/")
@router.get("/pricing")
async def pricing(request: Request, state: PortalStateDep, viewer: MaybeViewer) -> Response:
    return await pricing_page(request, state, viewer)


@router.post("/checkout")
async def checkout(
    request: Request,
    state: PortalStateDep,
    viewer: MaybeViewer,
    tier: Annotated[str, Form()] = "",
) -> Response:
    tier = tier.strip()
    names = [row["name"] for row in await _tiers(state, viewer)]
    if tier not in names:
        shown = tier[:40] or "(none)"
        return await pricing_page(
            request,
            state,
            viewer,
            error=f"tier: {shown!r} is not a package; choose one of {', '.join(names)}",
            status_code=400,
        )
    settings = state.settings
    anon = settings.supabase_anon_key.get_secret_value()
    body: dict[str, str] = {"tier": tier}
    if viewer is not None and viewer.email:
        body["email"] = viewer.email
    try:
        response = await state.http.post(
            f"{settings.functions_base}/checkout",
            json=body,
            headers={"apikey": anon, "Authorization": f"Bearer {anon}"},
        )
        payload = response.json()
    except (httpx.HTTPError, ValueError) as error:
        log.error(
            "checkout function unreachable",
            extra={"action": "portal.checkout_failed", "tier": tier, "error": type(error).__name__},
        )
        payload, response = {}, None
    url = payload.get("url") if isinstance(payload, dict) else None
    if response is None or response.status_code != 200 or not isinstance(url, str):
        if response is not None:
            log.error(
                "checkout function refused",
                extra={
                    "action": "portal.checkout_failed",
                    "tier": tier,
                    "status": response.status_code,
                    "detail": payload.get("error") if isinstance(payload, dict) else None,
                },
            )
        if response is not None and response.status_code == 400 and isinstance(payload, dict):
            return await pricing_page(
                request, state, viewer, error=str(payload.get("error")), status_code=400
            )
        return await pricing_page(
            request,
            state,
            viewer,
            error="We could not start the checkout just now. Nothing was charged; try again.",
            status_code=502,
        )
    if not url.startswith(("https://", "http://")):
        return await pricing_page(
            request, state, viewer, error="Checkout answered a bad address.", status_code=502
        )
    session_id = payload.get("id")
    if isinstance(session_id, str):
        # So the onboarding page may ask Stripe about this session (and only sessions like it).
        try:
            async with state.db.as_service() as q:
                await q.fetch_one("checkout_sessions_record", session_id=session_id, tier=tier)
        except InvalidArgument as error:
            log.error(
                "checkout answered a malformed session id",
                extra={"action": "portal.checkout_failed", "tier": tier, "error": str(error)},
            )
            return await pricing_page(
                request, state, viewer, error="Checkout answered a bad session.", status_code=502
            )
    log.info("checkout started", extra={"action": "portal.checkout_started", "tier": tier})
    return RedirectResponse(url, status_code=303)
