"""GET/POST /orders/{order_id}/business — the Business Info Form — and GET /logos/{id}.{ext}.

Reads and the save run under the customer's JWT: customers_save_business (SQL) checks that
the order is theirs, stores the fields under the table's constraints and enqueues the job
once the business is complete (never a second one). Another customer's order is a 404.
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from starlette.datastructures import UploadFile
from starlette.responses import RedirectResponse, Response

from dbolt import business as rules
from dbolt import postcodes, typed_values
from dbolt.sql import InvalidArgument, InvalidTransition, NotFound
from portal import business_form, categories
from portal.database import QuerySession
from portal.dependencies import PortalStateDep, SignedIn
from portal.state import PortalState
from portal.templating import render
from portal.viewer import Viewer

log = logging.getLogger(__name__)
router = APIRouter(tags=["customer"])

# A form with a logo at its limit, plus every text field at its limit, fits well within this.
MAX_REQUEST_BYTES = business_form.LOGO_MAX_BYTES + 256 * 1024
LOGO_PATH = re.compile(r"^(?P<id>[0-9a-f-]{36})\.(?P<ext>png|jpg|webp)$")
LOGO_EXTENSIONS = {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp"}


def _order_uuid(order_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(order_id)
    except ValueError:
        raise NotFound(f"order {order_id[:40]!r} not found") from None


async def _load(q: QuerySession, viewer: Viewer, order_id: uuid.UUID) -> dict[str, Any]:
    order = await q.fetch_one("orders_get_own", order_id=order_id, user_id=viewer.user_id)
    if order is None:
        raise NotFound(f"order {order_id} not found")
    customer = await q.fetch_one("customers_get_own", user_id=viewer.user_id)
    return {
        "order": order,
        "customer": customer,
        "categories": await categories.load(q),
        "job": {"id": order["job_id"], "status": order["job_status"]} if order["job_id"] else None,
    }


def _page(
    request: Request,
    loaded: dict[str, Any],
    values: dict[str, Any],
    errors: dict[str, str],
    status_code: int = 200,
    held_logo: business_form.HeldLogo | None = None,
) -> Response:
    # A closed day's time boxes are hidden: its errors link to its Closed box.
    hours = values.get("hours") or {}
    anchors = {
        f"hours-{day}": f"hours-{day}-closed"
        if (hours.get(day) or {}).get("closed")
        else f"hours-{day}-0-open"
        for day, _ in rules.WEEKDAYS
    }
    customer = loaded["customer"] or {}
    return render(
        request,
        "business.html",
        status_code=status_code,
        order=loaded["order"],
        job=loaded["job"],
        categories=loaded["categories"],
        countries=typed_values.countries(),
        # Each country's postcode rule rides on its <option> for the browser; the chosen
        # country's names the field as the page is rendered.
        postcode_rules={
            code: postcodes.postcode_rule(code) for code, _ in typed_values.countries()
        },
        postcode_rule=postcodes.postcode_rule(values.get("country") or "")
        if values.get("country") in typed_values.country_codes()
        else postcodes.GENERIC,
        weekdays=rules.WEEKDAYS,
        ranges_per_day=rules.RANGES_PER_DAY,
        social_networks=rules.SOCIAL_NETWORKS,
        attributes=rules.ATTRIBUTES,
        # The browser's checks take every limit and pattern from the page (business_form.js).
        text_rules=rules.TEXT_RULES,
        phone_max_length=typed_values.PHONE_MAX_LENGTH,
        website_max_length=typed_values.WEBSITE_MAX_LENGTH,
        time_pattern=rules.TIME_PATTERN.pattern,
        host_label_pattern=typed_values.HOST_LABEL.pattern,
        url_scheme_pattern=typed_values.URL_SCHEME.pattern,
        logo_types=business_form.LOGO_TYPES,
        logo_max_bytes=business_form.LOGO_MAX_BYTES,
        logo_url=business_form.logo_path(customer.get("logo_url")),
        held_logo=held_logo,
        values=values,
        errors=errors,
        error_order=business_form.error_order(),
        anchors=anchors,
    )


@router.get("/orders/{order_id}/business")
async def business_form_page(
    request: Request, order_id: str, viewer: SignedIn, state: PortalStateDep
) -> Response:
    async with state.db.as_viewer(viewer) as q:
        loaded = await _load(q, viewer, _order_uuid(order_id))
    return _page(request, loaded, business_form.values_from_customer(loaded["customer"]), {})


@dataclass(frozen=True)
class _Posted:
    fields: dict[str, str]
    # The logo's bytes (None if none chosen), whether it was too large, its file name.
    logo: bytes | None
    logo_too_large: bool
    logo_name: str


async def _read_form(request: Request) -> _Posted:
    form = await request.form(max_files=1, max_fields=200)
    fields: dict[str, str] = {}
    logo: bytes | None = None
    too_large = False
    name_of_logo = ""
    for name, value in form.multi_items():
        if isinstance(value, UploadFile):
            if name == "logo" and value.filename:
                logo = await value.read(business_form.LOGO_MAX_BYTES + 1)
                too_large = len(logo) > business_form.LOGO_MAX_BYTES
                name_of_logo = value.filename
            await value.close()
        elif name not in fields:
            fields[name] = value
    return _Posted(fields, logo or None, too_large, name_of_logo)


async def _held_logo(
    state: PortalState,
    viewer: Viewer,
    order_id: uuid.UUID,
    result: business_form.FormResult,
    posted: _Posted,
) -> business_form.HeldLogo | None:
    """The logo this try of the form stands for: a new acceptable upload, held at once (its
    own transaction, so it survives a refusal of the rest), or the one held from an earlier
    try, if it is this customer's (another's id is ignored, as RLS hides it). None when
    "remove logo" is ticked: the customer wants no logo, so nothing is held or used. The
    database holds a logo only for a paid order (InvalidTransition otherwise), and at most
    one per order."""
    if result.remove_logo:
        return None
    if result.logo is not None:
        async with state.db.as_viewer(viewer) as q:
            row = await q.fetch_one(
                "customers_hold_logo",
                order_id=order_id,
                content=result.logo.content,
                content_type=result.logo.content_type,
            )
        assert row is not None
        return business_form.HeldLogo(
            row["logo_id"], result.logo.content_type, business_form.logo_name(posted.logo_name)
        )
    held_id = business_form.held_logo_id(posted.fields)
    if held_id is None:
        return None
    async with state.db.as_viewer(viewer) as q:
        row = await q.fetch_one("customer_logos_get_own", logo_id=held_id)
    if row is None:
        return None
    return business_form.HeldLogo(
        row["id"], row["content_type"], business_form.logo_name(posted.fields.get("held_logo_name"))
    )


@router.post("/orders/{order_id}/business")
async def business_form_save(
    request: Request, order_id: str, viewer: SignedIn, state: PortalStateDep
) -> Response:
    order_uuid = _order_uuid(order_id)
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > MAX_REQUEST_BYTES:
        return render(
            request,
            "error.html",
            status_code=413,
            status=413,
            title="Too large",
            message="The form was too large to accept: the logo must be at most 1 MB.",
        )
    posted = await _read_form(request)

    async with state.db.as_viewer(viewer) as q:
        loaded = await _load(q, viewer, order_uuid)
    slugs = {category.slug for category in loaded["categories"]}
    result = business_form.validate(posted.fields, slugs, posted.logo)
    if posted.logo_too_large:
        result.errors["logo"] = "The logo must be at most 1 MB"
        result.logo = None
    try:
        held = await _held_logo(state, viewer, order_uuid, result, posted)
    except InvalidTransition:
        return _no_longer_active(request, loaded, result)
    if result.errors or result.business is None:
        log.info(
            "business form refused",
            extra={"action": "portal.business_invalid", "fields": sorted(result.errors)},
        )
        return _page(request, loaded, result.values, result.errors, 400, held)

    try:
        saved = await _save(state, viewer, order_uuid, result, held)
    except InvalidArgument as error:
        field, message = business_form.refused_field(error)
        log.warning(
            "business form refused by the database",
            extra={"action": "portal.business_refused", "field": field},
        )
        return _page(request, loaded, result.values, {field: message}, 400, held)
    except InvalidTransition:
        return _no_longer_active(request, loaded, result, held)
    if not saved.get("job_id"):
        missing = [str(name) for name in saved.get("missing") or []]
        return _page(
            request,
            loaded,
            result.values,
            {name: "This field is required" for name in missing} or {"form": "Not saved."},
            400,
            held,
        )
    log.info(
        "business form saved",
        extra={
            "action": "portal.business_saved",
            "order_id": str(order_uuid),
            "job_id": str(saved["job_id"]),
            "job_created": bool(saved.get("job_created")),
        },
    )
    return RedirectResponse(f"/jobs/{saved['job_id']}", status_code=303)


def _no_longer_active(
    request: Request,
    loaded: dict[str, Any],
    result: business_form.FormResult,
    held: business_form.HeldLogo | None = None,
) -> Response:
    return _page(
        request,
        loaded,
        result.values,
        {
            "form": "This order is no longer active (refunded or disputed), "
            "so its details cannot be submitted."
        },
        409,
        held,
    )


async def _save(
    state: PortalState,
    viewer: Viewer,
    order_id: uuid.UUID,
    result: business_form.FormResult,
    held: business_form.HeldLogo | None,
) -> dict[str, Any]:
    assert result.business is not None
    # One transaction: a refused form changes no field and not the profile's logo (a held
    # upload stays held for the next try).
    async with state.db.as_viewer(viewer) as q:
        if held is not None:
            await q.fetch_one(
                "customers_use_logo",
                order_id=order_id,
                logo_id=held.id,
                url_base=state.settings.portal_url.rstrip("/"),
            )
        row = await q.fetch_one(
            "customers_save_business",
            order_id=order_id,
            business=result.business.model_dump_json(),
            remove_logo=result.remove_logo,
        )
    assert row is not None
    saved: dict[str, Any] = row["result"]
    return saved


@router.get("/logos/{name}")
async def logo(name: str, state: PortalStateDep) -> Response:
    """A logo by its unguessable id, for workers uploading it to directories (no sign-in)."""
    match = LOGO_PATH.match(name)
    if match is None:
        raise NotFound("no such logo")
    try:
        logo_id = uuid.UUID(match["id"])
    except ValueError:
        raise NotFound("no such logo") from None
    async with state.db.as_service() as q:
        row = await q.fetch_one(
            "customer_logos_get", logo_id=logo_id, content_type=LOGO_EXTENSIONS[match["ext"]]
        )
    if row is None:
        raise NotFound("no such logo")
    return Response(
        bytes(row["content"]),
        media_type=row["content_type"],
        headers={
            # The id names one immutable upload.
            "Cache-Control": "public, max-age=31536000, immutable",
            "ETag": f'"{row["sha256"]}"',
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )
