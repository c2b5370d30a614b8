"""The directory sandbox (devstack/sandbox): each site's behaviour over HTTP, the admin
endpoints tests count submissions with, and the directories.json entries that point at it.

The sites' JavaScript (steps, the late form, the hours widget) runs only in a browser; the
worker's end-to-end tests drive them with Chromium. Here every answer the server gives is
checked, with the slow site's delay set short.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import re
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from devstack.sandbox import Settings, catalog, create_app
from devstack.sandbox.png import text_chunks
from devstack.sandbox.server import SandboxServer
from devstack.sandbox.sites.captchas import TOKEN_WIDGETS, TokenWidget
from devstack.sandbox.sites.walls import BOT_WALL_TEXT, WRONG_LOGIN_TEXT
from devstack.serving import loopback_host

ROOT = Path(__file__).resolve().parents[2]
SECRET = "test-captcha-secret"
PROXY_VIA = "1.1 dbolt-proxy-2"
CONFIRMATION = "Thank you! Your listing has been submitted."

# What a recipe types into the standard form for the sample business (supabase/seed.sql).
STANDARD = {
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
    "description": "A neighbourhood bakery baking sourdough and pastries since 2009.",
}
# The compact form of the captcha and logo sites: one full-address field.
COMPACT = {
    "business_name": "Bluebird Bakery",
    "address": "12 Orchard Lane, Springfield, IL 62701, US",
    "phone": "(217) 555-0123",
    "website": "https://bluebird-bakery.example",
    "email": "owner@bluebird-bakery.example",
    "category": "bakery",
}


@pytest.fixture
def settings() -> Settings:
    return Settings(captcha_secret=SECRET, slow_delay_seconds=0.01, js_form_delay_ms=250)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def submissions(client: TestClient, site: str | None = None) -> list[dict[str, Any]]:
    response = client.get("/_admin/submissions", params={"site": site} if site else None)
    assert response.status_code == 200
    found: list[dict[str, Any]] = response.json()
    return found


def ids_in(html: str) -> set[str]:
    # Also finds ids inside the JSON string the js-form script builds its form from.
    return set(re.findall(r'\bid=\\?"([^"\\]+)', html))


def listing_link(html: str) -> str:
    match = re.search(r'<a class="listing-link" href="([^"]+)"', html)
    assert match, html
    return match.group(1)


def confirmed(response: httpx.Response) -> bool:
    return 'class="confirmation"' in response.text and CONFIRMATION in response.text


def sandbox_entries() -> dict[str, dict[str, Any]]:
    document = json.loads((ROOT / "directories.json").read_text())
    return {
        entry["id"].removeprefix("sandbox-"): entry
        for entry in document["directories"]
        if entry["id"].startswith("sandbox-")
    }


# --- every site ---------------------------------------------------------------------------

HOMEPAGE_SITES = [
    site.name
    for site in catalog.SITES
    if site.name not in catalog.NOT_SERVED and site.name not in {"down", "ratelimited"}
]


@pytest.mark.parametrize("site", HOMEPAGE_SITES)
def test_every_site_has_a_homepage_linking_to_its_form(client: TestClient, site: str) -> None:
    response = client.get(f"/{site}/")
    assert response.status_code == 200
    assert '<a href="submit">Add your business</a>' in response.text
    assert catalog.site(site).title in response.text


def test_the_index_lists_every_served_site(client: TestClient) -> None:
    text = client.get("/").text
    for site in catalog.SITES:
        assert (f'href="/{site.name}/"' in text) == (site.name not in catalog.NOT_SERVED)


# --- plain --------------------------------------------------------------------------------


def test_plain_accepts_records_and_serves_the_listing(client: TestClient) -> None:
    form = client.get("/plain/submit")
    assert form.status_code == 200
    assert {"business-name", "street", "postal-code", "phone", "description"} <= ids_in(form.text)
    assert '<label for="business-name">Business name</label>' in form.text

    response = client.post("/plain/submit", data=STANDARD)
    assert response.status_code == 200
    assert confirmed(response)
    link = listing_link(response.text)
    assert re.fullmatch(r"http://testserver/plain/listing/\d+", link)
    listing = client.get(link)
    assert listing.status_code == 200
    assert "Bluebird Bakery" in listing.text

    [recorded] = submissions(client)
    assert recorded["site"] == "plain"
    assert recorded["status"] == "listed"
    assert recorded["fields"] == STANDARD
    assert recorded["via"] is None
    assert recorded["logo"] is None
    assert link.endswith(f"/plain/listing/{recorded['id']}")


def test_bad_fields_are_refused_by_name_and_nothing_is_recorded(client: TestClient) -> None:
    data = STANDARD | {"city": "", "email": "not-an-address", "phone": "555"}
    response = client.post("/plain/submit", data=data)
    assert response.status_code == 200
    assert not confirmed(response)
    assert "City: this field is required" in response.text
    assert "Email: not an email address" in response.text
    assert "Phone: a phone number has 10 to 15 digits" in response.text
    assert submissions(client) == []


def test_an_unknown_listing_is_404(client: TestClient) -> None:
    assert client.get("/plain/listing/999").status_code == 404


# --- layouts: multistep, js-form, iframe --------------------------------------------------


def test_multistep_has_three_steps_with_next_buttons(client: TestClient) -> None:
    text = client.get("/multistep/submit").text
    assert {"step-1", "step-2", "step-3", "ms-name", "ms-country", "ms-phone"} <= ids_in(text)
    assert text.count('<button type="button" class="next">Next</button>') == 2
    assert '<option value="US">United States</option>' in text


def test_multistep_wants_the_phone_as_ten_digits(client: TestClient) -> None:
    data = STANDARD | {"country": "US", "hours": "Mon 07:00-15:00; Sun closed"}
    refused = client.post("/multistep/submit", data=data)
    assert "Phone: 10 digits, no spaces or dashes" in refused.text
    accepted = client.post("/multistep/submit", data=data | {"phone": "2175550123"})
    assert confirmed(accepted)
    [recorded] = submissions(client, "multistep")
    assert recorded["fields"]["phone"] == "2175550123"
    assert recorded["fields"]["hours"] == "Mon 07:00-15:00; Sun closed"


def test_js_form_arrives_empty_and_is_built_after_the_delay(client: TestClient) -> None:
    text = client.get("/js-form/submit").text
    before_script = text.split("<script>", 1)[0]
    assert "<form" not in before_script
    assert 'id="form-root"' in before_script
    assert "}, 250);" in text  # the configured js_form_delay_ms
    assert {"listing-form", "business-name", "phone"} <= ids_in(text)
    assert confirmed(client.post("/js-form/submit", data=STANDARD))


def test_iframe_frames_the_form_and_confirms_inside_the_frame(client: TestClient) -> None:
    outer = client.get("/iframe/submit").text
    assert '<iframe id="submit-frame"' in outer
    assert 'src="embed"' in outer
    assert "<form" not in outer
    inner = client.get("/iframe/embed").text
    assert {"listing-form", "business-name"} <= ids_in(inner)
    response = client.post("/iframe/embed", data=STANDARD)
    assert confirmed(response)
    # The listing opens in the whole window, not inside the frame.
    assert 'target="_top"' in response.text
    assert [s["site"] for s in submissions(client)] == ["iframe"]


# --- widgets: choices, hours, logo --------------------------------------------------------

CHOICES = {key: STANDARD[key] for key in STANDARD if key not in {"country", "description"}} | {
    "business_type": "storefront",
    "services": ["takeaway", "catering"],
    "terms": "yes",
}


def test_choices_records_the_select_radio_and_checkboxes(client: TestClient) -> None:
    text = client.get("/choices/submit").text
    assert '<option value="bakery">Bakery</option>' in text
    assert '<input type="radio" id="type-storefront" name="business_type"' in text
    assert '<input type="checkbox" id="service-takeaway" name="services"' in text
    assert '<input type="checkbox" id="terms" name="terms" value="yes" required>' in text
    assert confirmed(client.post("/choices/submit", data=CHOICES))
    [recorded] = submissions(client, "choices")
    assert recorded["fields"]["category"] == "bakery"
    assert recorded["fields"]["business_type"] == "storefront"
    assert recorded["fields"]["services"] == ["takeaway", "catering"]


def test_choices_requires_the_terms_a_type_and_a_listed_category(client: TestClient) -> None:
    data = {key: value for key, value in CHOICES.items() if key not in {"terms", "business_type"}}
    response = client.post("/choices/submit", data=data | {"category": "bakeries"})
    assert not confirmed(response)
    assert "you must accept the terms" in response.text
    assert "Type of business: choose one" in response.text
    assert "Category: choose one of the listed options" in response.text
    assert submissions(client) == []


HOURS = {key: STANDARD[key] for key in STANDARD if key not in {"country", "description"}} | {
    "website": "bluebird-bakery.example",
    **{f"{day}_open": "07:00" for day in ("mon", "tue", "wed", "thu", "fri")},
    **{f"{day}_close": "15:00" for day in ("mon", "tue", "wed", "thu")},
    "fri_close": "12:00",
    "sat_open": "08:00",
    "sat_close": "13:00",
    "sun_closed": "yes",
}


def test_hours_widget_has_a_closed_box_and_two_times_per_day(client: TestClient) -> None:
    text = client.get("/hours/submit").text
    for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"):
        assert f'<input type="time" id="hours-{day}-open" name="{day}_open"' in text
        assert f'<input type="time" id="hours-{day}-close" name="{day}_close"' in text
        assert f'id="hours-{day}-closed" name="{day}_closed" value="yes"' in text


def test_hours_are_checked_and_stored_per_day(client: TestClient) -> None:
    assert confirmed(client.post("/hours/submit", data=HOURS))
    [recorded] = submissions(client, "hours")
    fields = recorded["fields"]
    assert fields["hours_mon"] == "07:00-15:00"
    assert fields["hours_fri"] == "07:00-12:00"
    assert fields["hours_sat"] == "08:00-13:00"
    assert fields["hours_sun"] == "closed"
    assert fields["website"] == "bluebird-bakery.example"


def test_hours_that_make_no_sense_are_refused(client: TestClient) -> None:
    data = HOURS | {"mon_open": "16:00", "tue_close": "7pm", "sun_closed": ""}
    response = client.post("/hours/submit", data=data)
    assert not confirmed(response)
    assert "Monday: the opening time must be before the closing time" in response.text
    assert "Tuesday: give both times as HH:MM" in response.text
    assert "Sunday: give the opening hours or tick Closed" in response.text
    assert submissions(client) == []


def test_the_sample_logo_is_a_real_png(client: TestClient) -> None:
    response = client.get("/static/logo.png")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    width, height = struct.unpack(">II", response.content[16:24])
    assert response.content[12:16] == b"IHDR"
    assert (width, height) == (96, 96)


def test_logo_upload_is_recorded_with_its_size_and_type(client: TestClient) -> None:
    assert 'enctype="multipart/form-data"' in client.get("/logo/submit").text
    png = client.get("/static/logo.png").content
    response = client.post(
        "/logo/submit", data=COMPACT, files={"logo": ("logo.png", png, "image/png")}
    )
    assert confirmed(response)
    # The type is sniffed from the bytes: a file name or declared type proves nothing.
    jpeg = b"\xff\xd8\xff\xe0" + b"\x00" * 2000
    files = {"logo": ("logo.bin", jpeg, "application/octet-stream")}
    assert confirmed(client.post("/logo/submit", data=COMPACT, files=files))
    logos = [s["logo"] for s in submissions(client, "logo")]
    assert logos == [
        {"size": len(png), "content_type": "image/png"},
        {"size": len(jpeg), "content_type": "image/jpeg"},
    ]


def test_logo_is_optional_but_must_be_a_small_png_or_jpeg(client: TestClient) -> None:
    # A browser sends an unused file input as an empty part with no file name.
    empty = {"logo": ("", b"", "application/octet-stream")}
    assert confirmed(client.post("/logo/submit", data=COMPACT, files=empty))
    text_file = {"logo": ("logo.png", b"not an image", "image/png")}
    assert (
        "Logo: PNG or JPEG only" in client.post("/logo/submit", data=COMPACT, files=text_file).text
    )
    huge = {"logo": ("big.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * (1024 * 1024), "image/png")}
    assert "Logo: at most 1 MB" in client.post("/logo/submit", data=COMPACT, files=huge).text
    assert [s["logo"] for s in submissions(client, "logo")] == [None]


# --- captchas -----------------------------------------------------------------------------


def _image_challenge(client: TestClient) -> tuple[str, str]:
    text = client.get("/image-captcha/submit").text
    match = re.search(r'<img id="captcha" src="(/image-captcha/captcha/([0-9a-f]+)\.png)"', text)
    assert match, text
    assert 'id="captcha-answer"' in text
    return match.group(1), match.group(2)


def test_image_captcha_carries_its_answer_and_is_stable(client: TestClient) -> None:
    src, _ = _image_challenge(client)
    first, second = client.get(src), client.get(src)
    assert first.headers["content-type"] == "image/png"
    assert first.content == second.content
    answer = text_chunks(first.content)["dbolt-answer"]
    assert re.fullmatch(r"\d{5}", answer)
    assert client.get("/image-captcha/captcha/not-a-challenge.png").status_code == 404


def test_image_captcha_accepts_the_right_answer_only(client: TestClient) -> None:
    src, challenge = _image_challenge(client)
    answer = text_chunks(client.get(src).content)["dbolt-answer"]
    wrong = str((int(answer) + 1) % 100_000).zfill(5)
    data = COMPACT | {"challenge": challenge}

    refused = client.post("/image-captcha/submit", data=data | {"captcha_answer": wrong})
    assert refused.status_code == 200
    assert "The captcha answer was wrong" in refused.text
    assert not confirmed(refused)
    assert submissions(client) == []

    accepted = client.post("/image-captcha/submit", data=data | {"captcha_answer": answer})
    assert confirmed(accepted)
    assert [s["site"] for s in submissions(client)] == ["image-captcha"]


def _token(sitekey: str, secret: str = SECRET) -> str:
    # Written out from the contract in docs/recipes.md, not imported from the sandbox.
    digest = hmac.new(secret.encode(), sitekey.encode(), hashlib.sha256).hexdigest()
    return "dbolt-captcha." + digest[:32]


@pytest.mark.parametrize("widget", TOKEN_WIDGETS, ids=lambda widget: widget.site)
def test_token_captchas_verify_the_shared_secret_token(
    client: TestClient, widget: TokenWidget
) -> None:
    text = client.get(f"/{widget.site}/submit").text
    assert f'<div class="{widget.css_class} captcha-box" data-sitekey="{widget.sitekey}"' in text
    element = '<input type="hidden"' if widget.hidden_input else "<textarea"
    assert f'{element} name="{widget.response_name}"' in text
    url = f"/{widget.site}/submit"

    for bad in ({}, {widget.response_name: "dbolt-captcha.0123"}):
        response = client.post(url, data=COMPACT | bad)
        assert "Captcha verification failed" in response.text
        assert not confirmed(response)
    other_key = {widget.response_name: _token("someone-elses-key")}
    assert not confirmed(client.post(url, data=COMPACT | other_key))
    wrong_secret = {widget.response_name: _token(widget.sitekey, "local-dev-captcha-secret")}
    assert not confirmed(client.post(url, data=COMPACT | wrong_secret))
    assert submissions(client) == []

    good = {widget.response_name: _token(widget.sitekey)}
    assert confirmed(client.post(url, data=COMPACT | good))
    assert [s["site"] for s in submissions(client)] == [widget.site]


def test_the_default_captcha_secret_is_the_documented_one() -> None:
    assert Settings().captcha_secret == "local-dev-captcha-secret"
    assert Settings.from_env({"CAPTCHA_SHARED_SECRET": "x"}).captcha_secret == "x"
    assert Settings.from_env({"SANDBOX_SLOW_DELAY_SECONDS": "2.5"}).slow_delay_seconds == 2.5


# --- duplicate, email verification, unconfirmed, drift ------------------------------------

DUPLICATE_TEXT = "This business is already listed on our directory."


def test_duplicate_refuses_a_listed_name_and_lists_a_new_one(client: TestClient) -> None:
    for name in ("Bluebird Bakery", "  bluebird   BAKERY "):
        refused = client.post("/duplicate/submit", data=STANDARD | {"business_name": name})
        assert refused.status_code == 200
        assert '<p class="error duplicate" role="alert">' + DUPLICATE_TEXT in refused.text
        assert not confirmed(refused)
    assert submissions(client) == []

    new = STANDARD | {"business_name": "Wren Books"}
    assert confirmed(client.post("/duplicate/submit", data=new))
    assert DUPLICATE_TEXT in client.post("/duplicate/submit", data=new).text
    assert [s["fields"]["business_name"] for s in submissions(client)] == ["Wren Books"]


def test_email_verify_accepts_pending_verification(client: TestClient) -> None:
    response = client.post("/email-verify/submit", data=STANDARD)
    assert response.status_code == 200
    assert '<div class="verification" role="status">' in response.text
    assert (
        "Almost done! We sent a verification email to owner@bluebird-bakery.example. "
        "Click the link in it to publish your listing." in response.text
    )
    assert 'class="confirmation"' not in response.text
    [recorded] = submissions(client)
    assert recorded["status"] == "pending_verification"
    # Not published until verified.
    assert client.get(f"/email-verify/listing/{recorded['id']}").status_code == 404


def test_unconfirmed_accepts_without_saying_so(client: TestClient) -> None:
    response = client.post("/unconfirmed/submit", data=STANDARD)
    assert response.status_code == 200
    assert "<p>Form received</p>" in response.text
    for wording in ("confirmation", "Thank you", "submitted", "listing-link"):
        assert wording not in response.text
    assert [s["status"] for s in submissions(client, "unconfirmed")] == ["received"]


def test_drift_page_no_longer_has_the_recipes_selector(client: TestClient) -> None:
    ids = ids_in(client.get("/drift/submit").text)
    assert "business-title" in ids
    assert "biz-name" not in ids
    entry = sandbox_entries()["drift"]
    fills = [step["selector"] for step in entry["recipe"]["steps"] if step["action"] == "fill"]
    assert "#biz-name" in fills
    assert "stale" in entry["notes"]
    # Someone filling the redesigned form by hand is still listed.
    assert confirmed(client.post("/drift/submit", data=STANDARD))


# --- failures: down, refused, slow, flaky, rate-limited, form gone -------------------------


def test_down_answers_500_to_everything(client: TestClient) -> None:
    for method, path in (("GET", "/down/"), ("GET", "/down/submit"), ("POST", "/down/submit")):
        response = client.request(method, path, data=STANDARD if method == "POST" else None)
        assert response.status_code == 500
    assert submissions(client) == []


def test_refused_entry_points_where_nothing_listens() -> None:
    entry = sandbox_entries()["refused"]
    assert entry["submit_url"] == "http://127.0.0.1:2/refused/submit"
    with pytest.raises(httpx.ConnectError):
        httpx.get(entry["submit_url"], timeout=5)


def test_slow_site_answers_after_the_configured_delay(client: TestClient) -> None:
    # With a tiny delay it is an ordinary form.
    assert "business-name" in ids_in(client.get("/slow/submit").text)
    assert confirmed(client.post("/slow/submit", data=STANDARD))


def test_slow_site_outlasts_a_client_timeout_over_real_http() -> None:
    with SandboxServer(Settings(slow_delay_seconds=3)) as sandbox:
        assert httpx.get(f"{sandbox.url}/slow/", timeout=5).status_code == 200
        with pytest.raises(httpx.ReadTimeout):
            httpx.get(f"{sandbox.url}/slow/submit", timeout=0.3)


def test_flaky_fails_the_first_submission_of_each_business(client: TestClient) -> None:
    first = client.post("/flaky/submit", data=STANDARD)
    assert first.status_code == 503
    assert first.headers["retry-after"] == "1"
    assert submissions(client) == []
    assert confirmed(client.post("/flaky/submit", data=STANDARD))

    other = STANDARD | {"business_name": "Wren Books"}
    assert client.post("/flaky/submit", data=other).status_code == 503
    assert confirmed(client.post("/flaky/submit", data=other))
    assert len(submissions(client, "flaky")) == 2


def test_ratelimited_answers_429_unless_the_request_came_via_our_proxy(
    client: TestClient,
) -> None:
    for headers in ({}, {"Via": "1.1 some-other-proxy"}):
        for path in ("/ratelimited/", "/ratelimited/submit"):
            response = client.get(path, headers=headers)
            assert response.status_code == 429
            assert "Too many requests from your network" in response.text
        assert client.post("/ratelimited/submit", data=STANDARD, headers=headers).status_code == 429
    assert submissions(client) == []

    proxied = {"Via": PROXY_VIA}
    assert client.get("/ratelimited/submit", headers=proxied).status_code == 200
    assert confirmed(client.post("/ratelimited/submit", data=STANDARD, headers=proxied))
    [recorded] = submissions(client)
    assert recorded["via"] == PROXY_VIA


def test_form_gone_homepage_is_up_but_the_form_is_404(client: TestClient) -> None:
    assert client.get("/form-gone/").status_code == 200
    assert client.get("/form-gone/submit").status_code == 404
    assert client.post("/form-gone/submit", data=STANDARD).status_code == 404


# --- auto-mode sites ----------------------------------------------------------------------


def test_auto_labels_identifies_fields_only_by_their_labels(client: TestClient) -> None:
    text = client.get("/auto-labels/submit").text
    labels = ["Business name", "Street address", "City", "State", "ZIP code"]
    labels += ["Phone number", "Website", "Email", "Category"]
    for number, label in enumerate(labels, start=1):
        assert f'<label for="f{number}">{label}</label>' in text
        assert f'id="f{number}" name="f{number}"' in text
    data = dict(zip([f"f{n}" for n in range(1, 10)], _label_values(), strict=True))
    assert confirmed(client.post("/auto-labels/submit", data=data))
    [recorded] = submissions(client)
    assert recorded["fields"]["region"] == "IL"
    assert recorded["fields"]["postal_code"] == "62701"


def _label_values() -> list[str]:
    keys = ["business_name", "street_address", "city", "region", "postal_code"]
    keys += ["phone", "website", "email", "category"]
    return [STANDARD[key] for key in keys]


def test_auto_placeholders_has_two_steps_and_no_labels(client: TestClient) -> None:
    text = client.get("/auto-placeholders/submit").text
    assert "<label" not in text
    for placeholder in ("Business name", "ZIP / postal code", "Email address"):
        assert f'placeholder="{placeholder}"' in text
    assert '<button type="button" class="continue">Continue</button>' in text
    assert '<button type="submit">Submit listing</button>' in text
    values = [*_label_values(), STANDARD["description"]]
    names = [f"p{n}" for n in range(1, 6)] + [f"q{n}" for n in range(1, 6)]
    data = dict(zip(names, values, strict=True))
    assert confirmed(client.post("/auto-placeholders/submit", data=data))
    assert submissions(client)[0]["fields"]["category"] == "bakery"


def test_auto_autocomplete_uses_standard_tokens_a_select_and_terms(client: TestClient) -> None:
    text = client.get("/auto-autocomplete/submit").text
    tokens = ["organization", "street-address", "address-level2", "address-level1"]
    tokens += ["postal-code", "country", "tel", "url", "email"]
    for token in tokens:
        assert f'autocomplete="{token}"' in text
    assert '<option value="12">Bakery</option>' in text
    assert 'id="ac-terms" name="agree" value="1" required' in text
    values = [*_label_values()[:5], "United States", *_label_values()[5:8], "12"]
    data = dict(zip([f"ac{n}" for n in range(1, 11)], values, strict=True))
    refused = client.post("/auto-autocomplete/submit", data=data)
    assert "I agree to the listing terms: required" in refused.text
    assert confirmed(client.post("/auto-autocomplete/submit", data=data | {"agree": "1"}))
    # The customer's choice, not the site's internal code.
    assert submissions(client)[0]["fields"]["category"] == "Bakery"


# --- walls (for the scout) -----------------------------------------------------------------


def test_login_wall_sends_the_submit_page_to_a_sign_in_form(client: TestClient) -> None:
    answer = client.get("/login-wall/submit", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login-wall/login?next=%2Flogin-wall%2Fsubmit"
    first, second = client.get("/login-wall/login").text, client.get("/login-wall/login").text
    assert 'type="password"' in first
    assert first != second  # a fresh CSRF token on every load
    refused = client.post("/login-wall/login", data={"email": "a@b.example", "password": "x"})
    assert refused.status_code == 401
    assert WRONG_LOGIN_TEXT in refused.text
    # Recorded, so a scout that posted anything would show up in the admin list.
    assert [(s["site"], s["status"]) for s in submissions(client)] == [("login-wall", "received")]


def test_bot_wall_answers_a_challenge_page_that_never_lets_through(client: TestClient) -> None:
    answer = client.get("/bot-wall/submit")
    assert answer.status_code == 403
    assert answer.headers["cf-mitigated"] == "challenge"
    assert BOT_WALL_TEXT in answer.text
    assert "<title>Just a moment...</title>" in answer.text
    assert client.post("/bot-wall/submit", data={"md": "x"}).status_code == 403
    assert [s["site"] for s in submissions(client)] == ["bot-wall"]


# --- admin --------------------------------------------------------------------------------


def test_admin_filters_submissions_by_site(client: TestClient) -> None:
    client.post("/plain/submit", data=STANDARD)
    client.post("/js-form/submit", data=STANDARD)
    assert [s["site"] for s in submissions(client)] == ["plain", "js-form"]
    assert [s["site"] for s in submissions(client, "js-form")] == ["js-form"]
    assert submissions(client, "nowhere") == []


def test_admin_reset_clears_submissions_counts_and_site_state(client: TestClient) -> None:
    new = STANDARD | {"business_name": "Wren Books"}
    client.post("/duplicate/submit", data=new)
    client.post("/flaky/submit", data=STANDARD)
    client.post("/flaky/submit", data=STANDARD)
    assert len(submissions(client)) == 2

    assert client.post("/_admin/reset").json() == {"reset": True}
    assert submissions(client) == []
    # The flaky site fails the first attempt again; the duplicate site forgot Wren Books but
    # still lists the sample business.
    assert client.post("/flaky/submit", data=STANDARD).status_code == 503
    assert confirmed(client.post("/duplicate/submit", data=new))
    assert DUPLICATE_TEXT in client.post("/duplicate/submit", data=STANDARD).text


# --- directories.json and the command line ------------------------------------------------


def test_every_site_has_an_enabled_verified_entry_in_catalog_order() -> None:
    entries = sandbox_entries()
    assert list(entries) == [s.name for s in catalog.SITES if s.name not in catalog.NO_ENTRY]
    priorities = [entry["priority"] for entry in entries.values()]
    assert priorities == sorted(priorities)
    for name, entry in entries.items():
        host = "http://127.0.0.1:2" if name in catalog.NOT_SERVED else "http://127.0.0.1:8400"
        assert entry["homepage"] == f"{host}/{name}/"
        assert entry["submit_url"] == f"{host}/{name}/submit"
        assert entry["enabled"] is True
        assert entry["verified_at"]
        assert entry["tier"] == "starter"
        assert entry["country"] is None
        assert entry["categories"] == []
        assert entry["mode"] == ("auto" if name.startswith("auto-") else "recipe")
        assert entry["proxy_required"] is (name == "ratelimited")
    assert entries["email-verify"]["requirements"] == ["email_verification"]
    kinds = {name: entry["captcha_kind"] for name, entry in entries.items()}
    assert {name: kind for name, kind in kinds.items() if kind != "none"} == {
        "image-captcha": "image",
        "recaptcha": "recaptcha_v2",
        "hcaptcha": "hcaptcha",
        "turnstile": "turnstile",
    }


def _recipe_ids(recipe: dict[str, Any]) -> set[str]:
    ids: set[str] = set()
    for step in recipe["steps"]:
        for key in ("selector", "image", "input", "sitekey_selector"):
            ids.update(re.findall(r"#([A-Za-z][\w-]*)", step.get(key) or ""))
    return ids


def test_every_recipe_selector_exists_on_its_live_page(client: TestClient) -> None:
    checked = 0
    for name, entry in sandbox_entries().items():
        if entry["mode"] != "recipe" or name in catalog.NOT_SERVED:
            continue
        path = f"/{name}/submit"
        headers = {"Via": PROXY_VIA} if entry["proxy_required"] else {}
        page = client.get(path, headers=headers)
        if name in {"down", "form-gone"}:
            assert page.status_code in (500, 404)
            continue
        text = page.text
        if "frame" in entry["recipe"]:
            text += client.get(f"/{name}/embed").text
        expect = entry["recipe"]["steps"][-1]
        assert expect["action"] == "expect"
        assert expect["success"] == ".confirmation"
        missing = _recipe_ids(entry["recipe"]) - ids_in(text)
        # Only the drift site's recipe is stale, and only in its business-name selector.
        assert missing == ({"biz-name"} if name == "drift" else set()), name
        checked += 1
    assert checked == 19


def test_the_server_binds_loopback_only() -> None:
    assert loopback_host("localhost") == "127.0.0.1"
    assert loopback_host("127.0.0.1") == "127.0.0.1"
    with pytest.raises(argparse.ArgumentTypeError, match="not a loopback address"):
        loopback_host("0.0.0.0")  # noqa: S104 - the address being refused


def test_a_held_submit_is_recorded_at_once_and_answered_only_when_released() -> None:
    """The test switch behind the exactly-once tests: the site has accepted the business,
    the client has not heard."""
    with SandboxServer(Settings()) as sandbox, httpx.Client(base_url=sandbox.url) as http:
        assert http.post("/_admin/hold", params={"site": "plain"}).json() == {"holding": ["plain"]}
        with pytest.raises(httpx.ReadTimeout):
            http.post("/plain/submit", data=STANDARD, timeout=1)
        [recorded] = http.get("/_admin/submissions").json()
        assert recorded["site"] == "plain"
        assert http.get("/_admin/holds").json() == {"holding": ["plain"], "waiting": {"plain": 1}}
        assert http.post("/_admin/release", params={"site": "plain"}).json() == {
            "released": ["plain"]
        }
        answered = http.post("/plain/submit", data=STANDARD | {"business_name": "Wren"}, timeout=5)
        assert CONFIRMATION in answered.text
        assert len(http.get("/_admin/submissions").json()) == 2


def test_a_redesigned_site_renames_its_business_name_field_until_switched_back(
    client: TestClient,
) -> None:
    """The canary's switch: between two runs the plain site's form changes under the recipe."""
    assert 'id="business-name"' in client.get("/plain/submit").text
    assert client.post("/_admin/redesign", params={"site": "plain"}).json() == {
        "redesigned": ["plain"]
    }
    redesigned = client.get("/plain/submit").text
    assert 'id="business-title"' in redesigned
    assert 'id="business-name"' not in redesigned
    assert 'id="business-name"' in client.get("/duplicate/submit").text
    # A person filling the redesigned form is still listed.
    assert CONFIRMATION in client.post("/plain/submit", data=STANDARD).text
    off = client.post("/_admin/redesign", params={"site": "plain", "on": False})
    assert off.json() == {"redesigned": []}
    assert 'id="business-name"' in client.get("/plain/submit").text
    client.post("/_admin/redesign", params={"site": "unconfirmed"})
    client.post("/_admin/reset")
    assert 'id="business-name"' in client.get("/unconfirmed/submit").text
    refused = client.post("/_admin/redesign", params={"site": "strict"})
    assert refused.status_code == 422
    assert "no redesign" in refused.text
