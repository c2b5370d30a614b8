"""GET /account: the signed-in customer's orders, each told as one story (portal.order_story),
with where to go next."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from dbolt.package_promise import Promise
from portal.dependencies import PortalStateDep, SignedIn
from portal.order_story import order_badge, order_story
from portal.pricing import format_amount
from portal.templating import render

router = APIRouter(tags=["customer"])


@router.get("/account")
async def account(request: Request, viewer: SignedIn, state: PortalStateDep) -> Response:
    async with state.db.as_viewer(viewer) as q:
        orders = await q.fetch_all("orders_list_own", user_id=viewer.user_id)
        customer = await q.fetch_one("customers_get_own", user_id=viewer.user_id)
        promises: dict[object, Promise] = {}
        for order in orders:
            if order["job_id"]:
                # The job page's own reading (portal/jobs/reads.py), under the same JWT.
                row = await q.fetch_one("jobs_get_promise", job_id=order["job_id"])
                if row is not None:
                    promises[order["id"]] = Promise.from_row(row)
    for order in orders:
        promise = promises.get(order["id"])
        order["amount"] = format_amount(order["amount_total"], order["currency"])
        order["promise"] = promise
        order["badge"] = order_badge(order)
        order["story"] = order_story(order, promise)
    return render(request, "account.html", orders=orders, customer=customer)
