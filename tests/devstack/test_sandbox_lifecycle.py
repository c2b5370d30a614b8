"""The sandbox's lifecycle directories (devstack/sandbox/sites/lifecycle.py) over HTTP: a
search of existing listings, sign-up with a verification email really sent over SMTP to the
mail catcher, login, listing only when signed in and verified, moderation, claiming, the
wrong phone, the mail that never comes; and their directories.json entries."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from devstack.mailcatcher import MailCatcher
from devstack.sandbox import Settings, create_app
from devstack.sandbox.lifecycle_state import LIFECYCLE_SITES, wrong_digit
from tests.support.ports import free_port
from worker.recipe import parse_recipe

ROOT = Path(__file__).resolve().parents[2]
BUSINESS = {
    "business_name": "Bluebird Bakery",
    "street_address": "12 Orchard Lane",
    "city": "Springfield",
    "region": "IL",
    "postal_code": "62701",
    "country": "United States",
    "phone": "(217) 555-0123",
    "website": "https://bluebird-bakery.example",
    "email": "owner@bluebird-bakery.example",
    "category": "bakery",
}
LOGIN = {"email": "bluebird@mail.directorybolt.example", "password": "correct horse battery"}


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(create_app(Settings(moderation_seconds=1.0))) as test_client:
        yield test_client


def state(client: TestClient, site: str | None = None) -> dict[str, Any]:
    found: dict[str, Any] = client.get(
        "/_admin/lifecycle", params={"site": site} if site else None
    ).json()
    return found


def seed(client: TestClient, site: str, **changes: str) -> dict[str, Any]:
    response = client.post(
        "/_admin/lifecycle/listings", json={"site": site, "fields": BUSINESS | changes}
    )
    assert response.status_code == 200, response.text
    listing: dict[str, Any] = response.json()
    return listing


def sign_up_verified(client: TestClient, site: str, login: dict[str, str] = LOGIN) -> None:
    """Sign up, open the emailed link (read from the admin API here), log in."""
    assert "check-inbox" in client.post(f"/{site}/signup", data=login).text
    [mail] = [m for m in state(client, site)["mails"] if m["to"] == login["email"]]
    assert "verified" in client.get(mail["link"]).text
    response = client.post(f"/{site}/login", data=login, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/{site}/account"


def test_the_search_finds_seeded_listings_and_says_when_nothing_matches(
    client: TestClient,
) -> None:
    seed(client, "lifecycle-listed")
    seed(client, "lifecycle-listed", business_name="Wren Books", phone="(217) 555-0199")
    found = client.get("/lifecycle-listed/search", params={"q": "bluebird bakery"}).text
    assert found.count('class="result"') == 1
    assert '<a class="result-name" href="listing/' in found
    assert '<span class="result-address">12 Orchard Lane, Springfield, IL 62701</span>' in found
    assert '<span class="result-phone">(217) 555-0123</span>' in found
    # By phone too; another directory's listings are not this one's.
    assert "Wren Books" in client.get("/lifecycle-listed/search?q=217-555-0199").text
    assert "no-results" in client.get("/lifecycle-claim/search?q=Bluebird").text
    assert "no-results" in client.get("/lifecycle-listed/search?q=Nobody").text
    link = re.search(r'href="(listing/\d+)"', found)
    assert link
    listing = client.get(f"/lifecycle-listed/{link.group(1)}").text
    assert '<h1 class="listing-name">Bluebird Bakery</h1>' in listing
    # Not signed in: no claim button.
    assert "claim-button" not in listing


def test_signup_sends_a_real_verification_email_over_smtp() -> None:
    with MailCatcher(smtp_port=free_port()) as catcher:
        settings = Settings(smtp_url=catcher.smtp_url)
        with TestClient(create_app(settings)) as client:
            signed_up = client.post("/lifecycle-verify/signup", data=LOGIN)
            assert "Check your inbox" in signed_up.text
            again = client.post("/lifecycle-verify/signup", data=LOGIN)
            assert "already-registered" in again.text

            listed = httpx.get(
                f"{catcher.http_url}/api/messages", params={"to": LOGIN["email"]}
            ).json()
            assert listed["total"] == 1
            mail = httpx.get(f"{catcher.http_url}/api/messages/{listed['messages'][0]['id']}")
            detail = mail.json()
            assert detail["from"] == "no-reply@lifecycle-verify.directory.example"
            assert detail["subject"] == "Confirm your email for Inbox Check Listings"
            # A help link to another host comes first, as in real directories' mail.
            help_link, verify_link = detail["links"][:2]
            assert help_link.startswith("https://help.directory.example/")
            assert re.fullmatch(
                r"http://testserver/lifecycle-verify/verify\?token=[\w-]+", verify_link
            )

            [account] = state(client)["accounts"]
            assert account == account | {"email": LOGIN["email"], "verified": False}
            assert "password" not in account
            refused = client.post("/lifecycle-verify/login", data=LOGIN)
            assert "Verify your email first" in refused.text
            assert client.get(verify_link).status_code == 200
            assert state(client)["accounts"][0]["verified"] is True
            assert client.get("/lifecycle-verify/verify?token=forged").status_code == 404


def test_the_mail_that_never_comes() -> None:
    with (
        MailCatcher(smtp_port=free_port()) as catcher,
        TestClient(create_app(Settings(smtp_url=catcher.smtp_url))) as client,
    ):
        assert "Check your inbox" in client.post("/lifecycle-no-mail/signup", data=LOGIN).text
        assert httpx.get(f"{catcher.http_url}/api/messages").json()["total"] == 0
        [mail] = state(client)["mails"]
        assert mail["sent"] is False
        assert "Verify your email first" in client.post("/lifecycle-no-mail/login", data=LOGIN).text


def test_a_listing_is_created_only_when_signed_in_and_verified(client: TestClient) -> None:
    site = "lifecycle-verify"
    assert client.get(f"/{site}/submit").status_code == 403
    assert client.post(f"/{site}/submit", data=BUSINESS).status_code == 403
    bad = client.post(f"/{site}/login", data=LOGIN | {"password": "wrong"})
    assert "login-error" in bad.text
    sign_up_verified(client, site)
    assert "account-email" in client.get(f"/{site}/account").text
    form = client.get(f"/{site}/submit").text
    assert 'id="listing-form"' in form
    created = client.post(f"/{site}/submit", data=BUSINESS).text
    assert "Your listing has been created" in created
    link = re.search(r'<a class="listing-link" href="([^"]+)"', created)
    assert link
    assert client.get(link.group(1)).status_code == 200
    assert link.group(1) in client.get(f"/{site}/account").text
    [listing] = state(client, site)["listings"]
    assert listing["created_by"] == LOGIN["email"]
    assert listing["fields"]["phone"] == BUSINESS["phone"]
    # The session is this directory's only.
    assert client.get("/lifecycle-listed/submit").status_code == 403


def test_moderation_keeps_the_listing_page_away_until_the_delay_has_passed(
    client: TestClient,
) -> None:
    site = "lifecycle-moderated"
    sign_up_verified(client, site)
    answer = client.post(f"/{site}/submit", data=BUSINESS).text
    assert "pending moderation" in answer
    assert "pending-moderation" in answer
    [listing] = state(client, site)["listings"]
    assert listing["live"] is False
    assert client.get(f"/{site}/listing/{listing['id']}").status_code == 404
    assert "pending-moderation" in client.get(f"/{site}/account").text
    assert "no-results" in client.get(f"/{site}/search?q=Bluebird").text
    time.sleep(1.1)
    assert client.get(f"/{site}/listing/{listing['id']}").status_code == 200
    account = client.get(f"/{site}/account").text
    assert "pending-moderation" not in account
    assert 'class="listing-link"' in account


def test_a_claim_takes_over_the_listing_with_the_accounts_business_details(
    client: TestClient,
) -> None:
    site = "lifecycle-claim"
    seeded = seed(client, site, phone="(217) 555-0999")
    page = f"/{site}/listing/{seeded['id']}"
    assert client.get(f"{page}/claim").status_code == 403
    sign_up_verified(client, site)
    assert '<a class="claim-button" href="' in client.get(page).text
    assert 'id="claim-form"' in client.get(f"{page}/claim").text
    claimed = client.post(f"{page}/claim", data=BUSINESS).text
    assert "This listing is now yours." in claimed
    [listing] = state(client, site)["listings"]
    assert listing["claimed_by"] == LOGIN["email"]
    assert listing["seeded"] is True
    assert listing["fields"]["phone"] == BUSINESS["phone"]
    assert "claim-button" not in client.get(page).text
    assert page in client.get(f"/{site}/account").text

    other = LOGIN | {"email": "someone@else.example"}
    sign_up_verified(client, site, other)
    assert client.post(f"{page}/claim", data=BUSINESS).status_code == 409


def test_the_wrong_phone_site_publishes_one_digit_changed(client: TestClient) -> None:
    site = "lifecycle-wrong-phone"
    sign_up_verified(client, site)
    created = client.post(f"/{site}/submit", data=BUSINESS).text
    link = re.search(r'<a class="listing-link" href="([^"]+)"', created)
    assert link
    listing = client.get(link.group(1)).text
    assert '<p class="listing-phone">(217) 555-0124</p>' in listing
    assert wrong_digit("+1 217 555 0129") == "+1 217 555 0120"


def test_the_admin_api_refuses_a_bad_seed_and_reset_forgets_everything(
    client: TestClient,
) -> None:
    assert (
        client.post(
            "/_admin/lifecycle/listings", json={"site": "plain", "fields": BUSINESS}
        ).status_code
        == 422
    )
    assert (
        client.post(
            "/_admin/lifecycle/listings", json={"site": "lifecycle-listed", "fields": {"x": "y"}}
        ).status_code
        == 422
    )
    seed(client, "lifecycle-listed")
    sign_up_verified(client, "lifecycle-verify")
    client.post("/_admin/reset")
    assert state(client) == {"accounts": [], "listings": [], "mails": []}


# --- directories.json ---------------------------------------------------------------------


def _entries() -> dict[str, dict[str, Any]]:
    document = json.loads((ROOT / "directories.json").read_text())
    return {e["id"]: e for e in document["directories"] if e["id"].startswith("lifecycle-")}


def test_every_lifecycle_site_has_an_enabled_phase_recipe_entry() -> None:
    entries = _entries()
    assert list(entries) == [site.name for site in LIFECYCLE_SITES]
    for site in LIFECYCLE_SITES:
        entry = entries[site.name]
        assert entry["homepage"] == f"http://127.0.0.1:8400/{site.name}/"
        assert entry["enabled"] is True
        assert entry["verified_at"]
        phases = parse_recipe(entry["recipe"]).phases
        assert phases is not None
        assert phases.verify_email is not None
        assert phases.verify_email.sender == site.sender


def test_every_lifecycle_recipe_selector_exists_on_its_page(client: TestClient) -> None:
    site = "lifecycle-claim"
    seeded = seed(client, site)
    sign_up_verified(client, site)
    pages = "".join(
        client.get(path).text
        for path in (
            f"/{site}/search?q=Bluebird",
            f"/{site}/signup",
            f"/{site}/login",
            f"/{site}/submit",
            f"/{site}/listing/{seeded['id']}/claim",
        )
    )
    ids = set(re.findall(r'\bid="([^"]+)"', pages))
    recipe = _entries()[site]["recipe"]["phases"]
    wanted = {
        name
        for phase in recipe.values()
        for step in phase.get("steps", [])
        for name in re.findall(r"#([A-Za-z][\w-]*)", step.get("selector", ""))
    }
    assert wanted <= ids, wanted - ids
