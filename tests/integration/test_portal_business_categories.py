"""The business category list lives in one place (the business_categories table): the form
offers exactly it, the database refuses anything else, and every category used by the
directory list, the sandbox sites and the sample business is on it."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import psycopg
import pytest

from devstack.sandbox.sites.widgets import CATEGORIES as SANDBOX_CATEGORIES
from tests.support.portal_harness import PortalStack

ROOT = Path(__file__).resolve().parents[2]


def listed(conn: psycopg.Connection[Any]) -> list[tuple[str, str]]:
    return [
        (r[0], r[1])
        for r in conn.execute("select slug, label from business_categories order by position")
    ]


def test_the_form_offers_exactly_the_listed_categories(portal_stack: PortalStack) -> None:
    customer = portal_stack.customer("cat@example.com", "starter", business={})
    page = portal_stack.client.get(
        f"/orders/{customer.order_id}/business", cookies=customer.cookies
    )
    select = re.search(r'<select id="category".*?</select>', page.text, re.S)
    assert select
    offered = re.findall(r'<option value="([^"]+)"[^>]*>([^<]+)</option>', select.group(0))
    with psycopg.connect(portal_stack.db_url) as conn:
        expected = listed(conn)
    assert [(slug, label.replace("&#39;", "'")) for slug, label in offered] == expected
    assert len(expected) >= 40
    assert expected[-1] == ("other", "Other")


def test_every_category_in_use_elsewhere_is_listed(conn: psycopg.Connection[Any]) -> None:
    slugs = {slug for slug, _ in listed(conn)}
    directories = json.loads((ROOT / "directories.json").read_text())["directories"]
    used = {category for entry in directories for category in entry.get("categories", [])}
    assert used - slugs == set(), (
        "directories.json uses categories missing from business_categories"
    )
    sandbox = {value for value, _ in SANDBOX_CATEGORIES if value}
    assert sandbox - slugs == set(), "the sandbox's category select offers unknown categories"
    sample = conn.execute("select dev.sample_business() ->> 'category'").fetchone()
    assert sample is not None
    assert sample[0] in slugs


def test_the_database_refuses_an_unlisted_category(conn: psycopg.Connection[Any]) -> None:
    with pytest.raises(psycopg.errors.ForeignKeyViolation) as refused:
        conn.execute("insert into customers (email, category) values ('x@example.com', 'bakeries')")
    assert refused.value.diag.constraint_name == "customers_category_is_listed"
