"""A directories row as its directories.json entry: what staff paste into the reviewed
catalogue after saving a scouted draft (the staff page shows it; `dbolt directories export
ID` prints it). Only the file's own keys, in the file's order; database-only state (drift,
signatures, staff's switch, the previous recipe) stays out. validate_document takes it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any


def _time(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def entry_from_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """The entry for one directories row (as `to_jsonb(d)` or a dict row gives it)."""
    entry: dict[str, Any] = {
        "id": row["id"],
        "name": row["name"],
        "homepage": row["homepage"],
        "submit_url": row.get("submit_url"),
        "country": row.get("country"),
    }
    countries = list(row.get("countries") or [])
    if countries and countries != [row.get("country")]:
        entry["countries"] = countries
    if row.get("phone_countries"):
        entry["phone_countries"] = list(row["phone_countries"])
    if row.get("category_map"):
        entry["category_map"] = dict(row["category_map"])
    entry |= {
        "categories": list(row.get("categories") or []),
        "tier": row["tier"],
        "priority": row["priority"],
        "captcha_kind": row["captcha_kind"],
        "requirements": None if row.get("requirements") is None else list(row["requirements"]),
        "proxy_required": bool(row.get("proxy_required")),
        "enabled": bool(row["enabled"]),
        "mode": row["mode"],
    }
    if row.get("recipe") is not None:
        entry["recipe"] = row["recipe"]
    entry["verified_at"] = _time(row.get("verified_at"))
    if row.get("notes"):
        entry["notes"] = row["notes"]
    return entry


def entry_json(row: Mapping[str, Any]) -> str:
    """The entry as it is pasted into directories.json's `directories` array."""
    return json.dumps(entry_from_row(row), indent=2, ensure_ascii=False)
