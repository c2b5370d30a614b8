"""GET /account: the signed-in customer's orders and jobs, with where to go next."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from portal.dependencies import PortalStateDep, SignedIn
from portal.pricing import format_amount
from portal.templating import render

router = APIRouter(tags=["customer"])


@router.get("/account")
async def account(request: Request, viewer: SignedIn, state: PortalStateDep) -> Response:
    async with state.db.as_viewer(viewer) as q:
        orders = await q.fetch_all("orders_list_own", user_id=viewer.user_id)
        customer = await q.fetch_one("customers_get_own", user_id=viewer.user_id)
    for order in orders:
        order["amount"] = format_amount(order["amount_total"], order["currency"])
        refund = order["shortfall_refunded"] or order["shortfall_refund_owed"]
        order["refund"] = format_amount(refund or None, order["currency"])
    return render(request, "account.html", orders=orders, customer=customer)
