"""Jobs that completed short of their package's count, and what became of their refund (the
staff overview's panel): a refund Stripe refused is staff's to settle by hand."""

from __future__ import annotations

from typing import Any

from dbolt.package_promise import format_amount
from portal.state import PortalState
from portal.viewer import Viewer

SHOWN = 20


async def shortfalls(state: PortalState, viewer: Viewer) -> dict[str, Any]:
    async with state.db.as_viewer(viewer) as q:
        rows = await q.fetch_all("shortfall_refunds_list_recent", limit=SHOWN)
    return {
        "total": int(rows[0]["total"]) if rows else 0,
        "failed_refunds": int(rows[0]["failed_refunds"]) if rows else 0,
        "jobs": [
            {**row, "amount_text": format_amount(row["amount"], row["currency"]) or "—"}
            for row in rows
        ],
    }
