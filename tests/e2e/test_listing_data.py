"""What each sandbox site received, read from its admin JSON, against the business: real
processes (orchestrator, two workers driving Chromium), the real database, jobs made the way
the portal makes them. The name, address, phone, website and category option as the site
lists them; the public email and never the sign-in email; attributes ticked only as the
customer answered; a business a site cannot take is skipped before a browser starts, and a
value a site refuses is a permanent failure naming the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

from dbolt.directories import sync_directories
from dbolt.refusals import field_of
from dbolt.sql import Queries
from tests.support.e2e_stack import Stack, running_stack, wait_for_job
from tests.support.sample_business import sample_business

pytestmark = pytest.mark.slow

SITES = ("sandbox-plain", "sandbox-choices", "sandbox-strict", "sandbox-auto-autocomplete")
HOURS = {
    day: [{"open": "08:00", "close": "17:00"}] for day in ("mon", "tue", "wed", "thu", "fri")
} | {"sat": [], "sun": []}


def business(name: str, **changes: Any) -> dict[str, Any]:
    """The sample business under another name, without a public email unless given."""
    defaults = {"website": "https://example.com", "public_email": None, "hours": HOURS}
    return sample_business(**{**defaults, "business_name": name, **changes})


BAKERY = business(
    "Bluebird Test Bakery",
    website="https://bluebird-bakery.example",
    public_email="hello@bluebird-bakery.example",
    attributes={"storefront": True, "takeaway": True, "delivery": False},
)
PLUMBER = business(
    "Pete's Pipes",
    category="plumber",
    phone="+12175550199",
    website="https://petes-pipes.example",
    public_email="jobs@petes-pipes.example",
    attributes={"service_area": True, "storefront": False, "takeaway": False},
)
TEA_ROOM = business(
    "Primrose Tea Room",
    street_address="1 High Street",
    city="York",
    region="North Yorkshire",
    postal_code="YO1 7HH",
    country="GB",
    phone="+441904000000",
    category="cafe",
    website="https://primrose-tea.example",
)
WRONG_ZIP = business("Zed's Deli", postal_code="SW1A 1AA", public_email="zed@deli.example")
UK_PHONE = business("Union Bakes", phone="+442079460000", public_email="hi@union.example")


def _job(stack: Stack, sign_in_email: str, entered: dict[str, Any]) -> str:
    with psycopg.connect(stack.db_url, autocommit=True) as conn:
        order = conn.execute(
            "select dev.create_paid_order(%s, 'starter', %s)", (sign_in_email, Jsonb(entered))
        ).fetchone()
        assert order is not None
        job = Queries.load().fetch_one(conn, "jobs_enqueue", order_id=order[0])
    assert job is not None
    return str(job["id"])


def _received(stack: Stack, name: str) -> dict[str, dict[str, Any]]:
    """What each site accepted from the named business: site -> its fields."""
    return {
        s["site"]: s["fields"]
        for s in stack.submissions()
        if s["fields"].get("business_name") == name
    }


def test_each_site_received_exactly_the_business_s_listing_data(
    db_url: str, tmp_path: Path
) -> None:
    with running_stack(db_url, tmp_path) as stack:
        chosen = [e for e in stack.sync_sandbox_directories() if e["id"] in SITES]
        with psycopg.connect(stack.db_url, autocommit=True) as conn:
            sync_directories(conn, chosen)  # only these four are enabled
        stack.start_worker("worker-a")
        stack.start_worker("worker-b")
        jobs = {
            entered["business_name"]: _job(stack, f"owner{n}.signin@buyer.example", entered)
            for n, entered in enumerate((BAKERY, PLUMBER, TEA_ROOM, WRONG_ZIP, UK_PHONE))
        }
        details = {
            name: wait_for_job(stack, job_id, {"complete", "failed"})
            for name, job_id in jobs.items()
        }
        outcome = {
            name: {
                d["directory_id"]: (d["status"], d["attempts"], d["last_error_code"])
                for d in detail["directories"]
            }
            for name, detail in details.items()
        }
        every = stack.submissions()
        # The sign-in address is never published, by any site, for any business.
        assert not any("signin@buyer.example" in str(s["fields"]) for s in every)

        # -- the bakery: every field as entered, its public email, its own attributes.
        bakery = _received(stack, BAKERY["business_name"])
        assert set(bakery) == {"plain", "choices", "strict", "auto-autocomplete"}, outcome
        plain = bakery["plain"]
        assert plain["street_address"] == "12 Orchard Lane"
        assert plain["city"] == "Springfield"
        assert plain["region"] == "IL"
        assert plain["postal_code"] == "62701"
        assert plain["country"] == "United States"
        assert plain["phone"] == "(217) 555-0123"
        assert plain["website"] == "https://bluebird-bakery.example"
        assert plain["email"] == "hello@bluebird-bakery.example"
        assert bakery["choices"]["category"] == "bakery"
        assert bakery["choices"]["business_type"] == "storefront"
        assert bakery["choices"]["services"] == ["takeaway"]  # delivery: no; the rest unsaid
        assert bakery["strict"]["category"] == "Bakeries"  # the directory's category map
        assert bakery["strict"]["email"] == "hello@bluebird-bakery.example"
        assert bakery["auto-autocomplete"]["category"] == "Bakery"  # the generic matcher
        assert bakery["auto-autocomplete"]["email"] == "hello@bluebird-bakery.example"

        # -- the plumber: never listed as offering takeaway; its trade's own category.
        plumber = _received(stack, PLUMBER["business_name"])
        assert plumber["choices"]["business_type"] == "service-area"
        assert plumber["choices"]["services"] == []
        assert plumber["choices"]["category"] == "plumber"
        assert plumber["strict"]["category"] == "Plumbing & Heating"
        # The generic site lists no category that fits a plumber: named, never a guess.
        assert "auto-autocomplete" not in plumber
        assert outcome["Pete's Pipes"]["sandbox-auto-autocomplete"] == (
            "failed",
            1,
            "category_unmatched",
        )

        # -- the UK tea room: no public email, and not a US business.
        tea = _received(stack, TEA_ROOM["business_name"])
        assert set(tea) == {"plain"}
        assert "email" not in tea["plain"]  # left empty, not filled with the sign-in address
        tea_outcome = outcome["Primrose Tea Room"]
        # A US-only directory is not even given to a UK business (jobs_enqueue's eligibility
        # reads the countries a directory lists); the worker's own check is the second line.
        assert "sandbox-strict" not in tea_outcome
        assert tea_outcome["sandbox-choices"] == ("skipped", 1, "missing_business_field")
        tea_attempts = {a["directory_id"]: a for a in details["Primrose Tea Room"]["attempts"]}
        # Decided before any browser started: no page, so no screenshot or HTML kept.
        assert tea_attempts["sandbox-choices"]["artifacts"] == {}
        assert field_of(tea_attempts["sandbox-choices"]["message"]) == "public_email"

        # -- a ZIP code the site refuses: permanent at once, naming the field.
        assert outcome["Zed's Deli"]["sandbox-strict"] == ("failed", 1, "field_rejected")
        zed = {a["directory_id"]: a for a in details["Zed's Deli"]["attempts"]}
        assert field_of(zed["sandbox-strict"]["message"]) == "postal_code"
        assert "strict" not in _received(stack, WRONG_ZIP["business_name"])

        # -- a UK phone on a US-phone site: skipped, never retried into a timeout.
        assert outcome["Union Bakes"]["sandbox-strict"] == ("skipped", 1, "phone_not_accepted")
        assert "strict" not in _received(stack, UK_PHONE["business_name"])
