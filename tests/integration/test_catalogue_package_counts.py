"""The catalogue grows by disabled entries (issue 17): the packages customers are offered count
only enabled directories, on the pricing page and in the database's own count."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import psycopg

from dbolt.directories import load_directories, sync_directories
from dbolt.directory_catalogue import is_real
from dbolt.sql import Queries
from tests.support.portal_harness import PortalStack

ROOT = Path(__file__).resolve().parents[2]
TIERS = ("starter", "growth", "professional", "enterprise")


def _disabled_real_site(n: int) -> dict[str, Any]:
    return {
        "id": f"catalogue-extra-{n}",
        "name": f"Catalogue extra {n}",
        "homepage": f"https://directory-{n}.example.org",
        "submit_url": None,
        "country": None,
        "tier": TIERS[n % len(TIERS)],
        "priority": n,
        "captcha_kind": "unknown",
        "requirements": None,
        "mode": "auto",
        "enabled": False,
        "verified_at": None,
        "notes": "Test entry.",
    }


def _offered(conn: psycopg.Connection[Any]) -> list[tuple[str, int, int]]:
    return [
        (row["name"], row["directory_limit"], row["directories_today"])
        for row in Queries.load().fetch_all(conn, "tiers_list")
    ]


def _pricing_counts(portal_stack: PortalStack) -> list[str]:
    page = portal_stack.client.get("/pricing")
    assert page.status_code == 200
    return re.findall(r'<p class="package-today" id="package-[a-z]+-today">.*?</p>', page.text)


def test_disabled_entries_leave_the_counts_customers_see_unchanged(
    conn: psycopg.Connection[Any], portal_stack: PortalStack
) -> None:
    committed = load_directories(ROOT / "directories.json")
    offered, shown = _offered(conn), _pricing_counts(portal_stack)
    assert len(shown) == len(TIERS)

    extra = [_disabled_real_site(n) for n in range(150)]
    assert sync_directories(conn, committed + extra)["upserted"] == len(committed) + 150
    assert _offered(conn) == offered
    assert _pricing_counts(portal_stack) == shown

    # The same page does move when a directory is enabled: the count reads `enabled`.
    enabled = extra[0] | {"tier": "starter", "homepage": "http://127.0.0.1:9/extra"}
    sync_directories(conn, [*committed, enabled | {"enabled": True}])
    starter_before = dict((name, today) for name, _, today in offered)["starter"]
    starter_limit = dict((name, limit) for name, limit, _ in offered)["starter"]
    starter_after = dict((name, today) for name, _, today in _offered(conn))["starter"]
    assert starter_after == min(starter_limit, starter_before + 1)
    if starter_before < starter_limit:
        assert _pricing_counts(portal_stack) != shown


def test_the_committed_catalogue_syncs_with_every_real_site_disabled(
    conn: psycopg.Connection[Any],
) -> None:
    entries = load_directories(ROOT / "directories.json")
    sync_directories(conn, entries)
    real_ids = [entry["id"] for entry in entries if is_real(entry)]
    rows = conn.execute(
        "select count(*), count(*) filter (where enabled) from directories where id = any(%s)",
        (real_ids,),
    ).fetchone()
    assert rows == (len(real_ids), 0)
