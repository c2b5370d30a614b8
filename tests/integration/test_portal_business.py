"""The Business Info Form through the portal (real Postgres, real Auth stand-in keys): each
field's server-side rule with its message next to the field, normalised phone and website,
saving enqueues exactly one pending job, logos, another customer's order is a 404, and a
signed-out visitor is sent to sign in."""

from __future__ import annotations

import json
import re
import struct
import zlib
from typing import Any

import psycopg
import pytest

from tests.support.portal_harness import Customer, PortalStack

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def valid_form(**changes: str) -> dict[str, str]:
    form = {
        "business_name": "Bluebird  Bakery",
        "street_address": "12 Orchard Lane",
        "city": "Springfield",
        "region": "IL",
        "postal_code": "62701",
        "country": "US",
        "phone": "(217) 555-0123",
        "website": "Bluebird-Bakery.EXAMPLE",
        "category": "bakery",
        "tagline": "Bread worth getting up for",
        "description": "Sourdough and pastries.\nSince 2009.",
        "social-instagram": "instagram.com/bluebird",
    }
    for day in DAYS[:5]:
        form[f"hours-{day}-0-open"] = "07:00"
        form[f"hours-{day}-0-close"] = "15:00"
    form["hours-fri-1-open"] = "16:00"
    form["hours-fri-1-close"] = "00:00"
    form["hours-sat-closed"] = "on"
    form["hours-sun-closed"] = "on"
    form.update(changes)
    return form


def png(width: int = 1, height: int = 1, padding: int = 0) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    raw = b"".join(b"\x00" + b"\x00\x00\x00" * width for _ in range(height))
    extra = chunk(b"tEXt", b"pad\x00" + b"x" * padding) if padding else b""
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + extra
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
def alice(portal_stack: PortalStack) -> Customer:
    return portal_stack.customer("alice@example.com", "starter", business={})


def post_form(
    stack: PortalStack, customer: Customer, form: dict[str, str], files: Any = None
) -> Any:
    return stack.client.post(
        f"/orders/{customer.order_id}/business",
        data=form,
        files=files or {"logo": ("", b"", "application/octet-stream")},
        cookies=customer.cookies,
    )


def field_error(html: str, field: str) -> str:
    match = re.search(rf'<p class="field-error" id="{re.escape(field)}-error">([^<]*)</p>', html)
    assert match, f"no error shown for {field}"
    return match.group(1)


def jobs_of(stack: PortalStack, customer: Customer) -> list[tuple[Any, ...]]:
    with psycopg.connect(stack.db_url) as conn:
        return conn.execute(
            "select id, status::text, business_snapshot from jobs where order_id = %s",
            (customer.order_id,),
        ).fetchall()


def test_form_page_shows_every_field_with_labels(
    portal_stack: PortalStack, alice: Customer
) -> None:
    response = portal_stack.client.get(f"/orders/{alice.order_id}/business", cookies=alice.cookies)
    assert response.status_code == 200
    html = response.text
    for field in (
        "business_name",
        "street_address",
        "city",
        "region",
        "postal_code",
        "country",
        "phone",
        "website",
        "category",
        "logo",
        "tagline",
        "description",
        "social-facebook",
        "hours-mon-0-open",
        "hours-sun-2-close",
        "hours-sat-closed",
    ):
        assert f'<label for="{field}"' in html, field
        assert f'id="{field}"' in html, field
    assert '<option value="bakery">Bakery</option>' in html
    assert re.search(r'<option value="GB"[^>]*>United Kingdom</option>', html)
    assert "Save and start my submissions" in html


def test_a_valid_form_is_normalised_saved_and_enqueues_one_pending_job(
    portal_stack: PortalStack, alice: Customer
) -> None:
    response = post_form(portal_stack, alice, valid_form())
    assert response.status_code == 303, response.text
    jobs = jobs_of(portal_stack, alice)
    assert len(jobs) == 1
    job_id, status, snapshot = jobs[0]
    assert response.headers["location"] == f"/jobs/{job_id}"
    assert status == "pending"
    assert snapshot["phone"] == "+12175550123"
    assert snapshot["website"] == "https://bluebird-bakery.example"
    assert snapshot["business_name"] == "Bluebird Bakery"
    assert snapshot["social_links"] == {"instagram": "https://instagram.com/bluebird"}
    assert snapshot["hours"]["fri"] == [
        {"open": "07:00", "close": "15:00"},
        {"open": "16:00", "close": "24:00"},
    ]
    assert snapshot["hours"]["sat"] == []
    assert snapshot["description"] == "Sourdough and pastries.\nSince 2009."

    # Saving again (a typo fixed) updates the customer and never makes a second job.
    again = post_form(portal_stack, alice, valid_form(city="Shelbyville"))
    assert again.status_code == 303
    assert again.headers["location"] == f"/jobs/{job_id}"
    assert len(jobs_of(portal_stack, alice)) == 1
    with psycopg.connect(portal_stack.db_url) as conn:
        assert conn.execute(
            "select city from customers where id = %s", (alice.customer_id,)
        ).fetchone() == ("Shelbyville",)
    page = portal_stack.client.get(f"/orders/{alice.order_id}/business", cookies=alice.cookies)
    assert "Your submissions have started" in page.text
    assert 'value="Shelbyville"' in page.text
    assert 'value="+12175550123"' in page.text


BAD_FIELDS: list[tuple[str, dict[str, str], str, str]] = [
    ("business_name", {"business_name": " "}, "business_name", "Enter the business name"),
    ("business_name", {"business_name": "B"}, "business_name", "at least 2 characters"),
    ("business_name", {"business_name": "x" * 201}, "business_name", "at most 200 characters"),
    ("business_name", {"business_name": "Nul\x00Bakery"}, "business_name", "cannot be stored"),
    ("street_address", {"street_address": ""}, "street_address", "Enter the street address"),
    ("city", {"city": ""}, "city", "Enter the city or town"),
    ("region", {"region": "r" * 101}, "region", "at most 100 characters"),
    (
        "postal_code",
        {"postal_code": "62701!"},
        "postal_code",
        "letters, digits, spaces and hyphens",
    ),
    ("country", {"country": ""}, "country", "Choose the country"),
    ("country", {"country": "XX"}, "country", "Choose a country from the list"),
    ("phone", {"phone": ""}, "phone", "Enter the phone number"),
    ("phone", {"phone": "555-01"}, "phone", "not a valid phone number in United States"),
    ("phone", {"phone": "0161 496 0000"}, "phone", "not a valid phone number in United States"),
    ("website", {"website": ""}, "website", "Enter the website"),
    (
        "website",
        {"website": "javascript:alert(1)"},
        "website",
        "must start with http:// or https://",
    ),
    ("website", {"website": "bakery"}, "website", "Enter a website address like example.com"),
    ("website", {"website": "https://me:pw@bakery.example"}, "website", "user name or password"),
    ("category", {"category": ""}, "category", "Choose the category"),
    ("category", {"category": "bakeries"}, "category", "Choose a category from the list"),
    (
        "hours",
        {"hours-mon-0-open": "", "hours-mon-0-close": ""},
        "hours-mon",
        "Monday: enter the opening hours or tick Closed",
    ),
    (
        "hours",
        {"hours-tue-0-close": ""},
        "hours-tue",
        "Tuesday: enter both an opening and a closing time",
    ),
    (
        "hours",
        {"hours-wed-0-open": "18:00"},
        "hours-wed",
        "Wednesday: the closing time must be after the opening time",
    ),
    ("hours", {"hours-thu-0-open": "7am"}, "hours-thu", "Thursday: times must be written as HH:MM"),
    ("hours", {"hours-fri-1-open": "14:00"}, "hours-fri", "Friday: the time ranges overlap"),
    ("tagline", {"tagline": "t" * 161}, "tagline", "at most 160 characters (it has 161)"),
    ("description", {"description": "d" * 2001}, "description", "at most 2000 characters"),
    (
        "social",
        {"social-facebook": "https://evil.example/bluebird"},
        "social-facebook",
        "must be on facebook.com or fb.com",
    ),
    (
        "social",
        {"social-x": "ftp://x.com/bluebird"},
        "social-x",
        "must start with http:// or https://",
    ),
]


@pytest.mark.parametrize(("_kind", "changes", "field", "message"), BAD_FIELDS)
def test_each_bad_field_is_refused_with_its_message_next_to_it(
    portal_stack: PortalStack,
    alice: Customer,
    _kind: str,
    changes: dict[str, str],
    field: str,
    message: str,
) -> None:
    response = post_form(portal_stack, alice, valid_form(**changes))
    assert response.status_code == 400
    html = response.text
    assert message in field_error(html, field)
    # Only that field is flagged, and the error summary links to it.
    assert len(re.findall(r'<p class="field-error" id="[^"]+-error">', html)) == 1
    assert 'id="error-summary"' in html
    assert "Please correct 1 field" in html
    if not field.startswith("hours-"):
        assert re.search(rf'id="{field}"[^>]*aria-describedby="[^"]*{field}-error"', html), html
        assert re.search(rf'id="{field}"[^>]*aria-invalid="true"', html)
    assert jobs_of(portal_stack, alice) == []


def test_all_hours_closed_is_refused(portal_stack: PortalStack, alice: Customer) -> None:
    form = {k: v for k, v in valid_form().items() if not k.startswith("hours-")}
    form.update({f"hours-{day}-closed": "on" for day in DAYS})
    response = post_form(portal_stack, alice, form)
    assert response.status_code == 400
    assert "at least one day" in field_error(response.text, "hours-mon")


def test_entered_values_are_kept_when_the_form_is_refused(
    portal_stack: PortalStack, alice: Customer
) -> None:
    response = post_form(portal_stack, alice, valid_form(phone="12", city="Ogdenville"))
    assert 'value="Ogdenville"' in response.text
    assert 'value="12"' in response.text
    assert '<option value="bakery" selected>' in response.text


def test_logo_is_stored_served_by_its_url_and_can_be_removed(
    portal_stack: PortalStack, alice: Customer
) -> None:
    image = png(2, 2)
    response = post_form(
        portal_stack, alice, valid_form(), files={"logo": ("logo.png", image, "image/png")}
    )
    assert response.status_code == 303, response.text
    ((_, _, snapshot),) = jobs_of(portal_stack, alice)
    logo_url = snapshot["logo_url"]
    assert re.fullmatch(r"http://testserver/logos/[0-9a-f-]{36}\.png", logo_url)
    served = portal_stack.client.get(logo_url.removeprefix("http://testserver"))
    assert served.status_code == 200
    assert served.content == image
    assert served.headers["content-type"] == "image/png"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert (
        portal_stack.client.get(
            logo_url.removeprefix("http://testserver").replace(".png", ".jpg")
        ).status_code
        == 404
    )

    removed = post_form(portal_stack, alice, valid_form(remove_logo="on"))
    assert removed.status_code == 303
    with psycopg.connect(portal_stack.db_url) as conn:
        assert conn.execute(
            "select logo_url from customers where id = %s", (alice.customer_id,)
        ).fetchone() == (None,)


def test_a_logo_saved_with_a_foreign_url_base_is_shown_from_the_portal_by_its_id(
    portal_stack: PortalStack, alice: Customer
) -> None:
    # The customer calls customers_save_logo through the Data API with a url_base of their own.
    claims = json.dumps({"sub": str(alice.user_id), "role": "authenticated"})
    with psycopg.connect(portal_stack.db_url) as conn:
        conn.execute(
            "select set_config('role', 'authenticated', true),"
            " set_config('request.jwt.claims', %s, true)",
            (claims,),
        )
        row = conn.execute(
            "select customers_save_logo(%s, %s, 'image/png', 'http://169.254.169.254')",
            (alice.order_id, png(2, 2)),
        ).fetchone()
    assert row is not None
    stored: str = row[0]
    assert stored.startswith("http://169.254.169.254/logos/")
    page = portal_stack.client.get(f"/orders/{alice.order_id}/business", cookies=alice.cookies)
    assert page.status_code == 200
    assert f'src="/logos/{stored.rsplit("/", 1)[1]}"' in page.text
    assert "169.254.169.254" not in page.text


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"GIF89a" + b"\x00" * 20, "must be a PNG, JPEG or WebP image"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "must be a PNG, JPEG or WebP image"),
        (png(padding=1024 * 1024), "at most 1 MB"),
    ],
)
def test_bad_logos_are_refused(
    portal_stack: PortalStack, alice: Customer, content: bytes, message: str
) -> None:
    # The browser's word for the type is ignored: the bytes decide.
    response = post_form(
        portal_stack, alice, valid_form(), files={"logo": ("logo.png", content, "image/png")}
    )
    assert response.status_code == 400
    assert message in field_error(response.text, "logo")
    assert jobs_of(portal_stack, alice) == []


def test_another_customers_order_is_not_found(portal_stack: PortalStack, alice: Customer) -> None:
    bob = portal_stack.customer("bob@example.com", "growth")
    page = portal_stack.client.get(f"/orders/{alice.order_id}/business", cookies=bob.cookies)
    assert page.status_code == 404
    assert "Bluebird" not in page.text
    saved = post_form(
        portal_stack,
        Customer(bob.email, bob.user_id, bob.customer_id, alice.order_id),
        valid_form(),
    )
    assert saved.status_code == 404
    assert jobs_of(portal_stack, alice) == []
    assert (
        portal_stack.client.get("/orders/not-a-uuid/business", cookies=bob.cookies).status_code
        == 404
    )


def test_signed_out_visitor_is_sent_to_sign_in(portal_stack: PortalStack, alice: Customer) -> None:
    path = f"/orders/{alice.order_id}/business"
    page = portal_stack.client.get(path)
    assert page.status_code == 303
    assert page.headers["location"] == f"/sign-in?next={path}"
    saved = portal_stack.client.post(path, data=valid_form())
    assert saved.status_code == 303
    assert saved.headers["location"].startswith("/sign-in?next=")
    assert jobs_of(portal_stack, alice) == []


def test_a_refunded_order_cannot_be_submitted(portal_stack: PortalStack, alice: Customer) -> None:
    with psycopg.connect(portal_stack.db_url, autocommit=True) as conn:
        conn.execute("update orders set status = 'refunded' where id = %s", (alice.order_id,))
    response = post_form(portal_stack, alice, valid_form())
    assert response.status_code == 409
    assert "no longer active" in response.text
    assert jobs_of(portal_stack, alice) == []


def test_an_order_no_directory_accepts_is_refused_next_to_the_category(
    portal_stack: PortalStack, alice: Customer
) -> None:
    with psycopg.connect(portal_stack.db_url, autocommit=True) as conn:
        conn.execute("update directories set enabled = false")
    response = post_form(portal_stack, alice, valid_form())
    assert response.status_code == 400
    assert "no directories for this category" in field_error(response.text, "category")
    assert jobs_of(portal_stack, alice) == []
