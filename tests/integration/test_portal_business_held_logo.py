"""A logo chosen on a Business Info Form the server sends back with errors is kept: held for
the customer (not yet their profile's logo), shown as "Logo kept: <name>" and saved with the
next try; removable; a new file replaces it; and another customer's logo id, posted in its
place, is neither shown nor used."""

from __future__ import annotations

import re
import uuid

import psycopg

from tests.integration.test_portal_business import field_error, png, post_form, valid_form
from tests.support.portal_harness import Customer, PortalStack


def logo_url(stack: PortalStack, customer: Customer) -> str | None:
    with psycopg.connect(stack.db_url) as conn:
        row = conn.execute(
            "select logo_url from customers where id = %s", (customer.customer_id,)
        ).fetchone()
    assert row is not None
    value: str | None = row[0]
    return value


def held_logo(html: str) -> tuple[str, str]:
    """(id, name) of the logo the page holds."""
    held = re.search(r'name="held_logo" value="([0-9a-f-]{36})"', html)
    name = re.search(r'name="held_logo_name" value="([^"]*)"', html)
    assert held, "the page holds no logo"
    assert name
    return held.group(1), name.group(1)


def test_a_logo_survives_a_refused_form_and_is_saved_with_the_next_try(
    portal_stack: PortalStack,
) -> None:
    alice = portal_stack.customer("alice@example.com", "starter", business={})
    image = png(3, 3)
    refused = post_form(
        portal_stack,
        alice,
        valid_form(business_name=""),
        files={"logo": ("C:\\Users\\alice\\blue\u202ebird.png", image, "image/png")},
    )
    assert refused.status_code == 400
    assert field_error(refused.text, "business_name") == "Enter the business name"
    assert "Logo kept: <strong>bluebird.png</strong>" in refused.text
    logo_id, name = held_logo(refused.text)
    assert name == "bluebird.png"
    assert f'src="/logos/{logo_id}.png"' in refused.text
    # Held, not yet the profile's logo.
    assert logo_url(portal_stack, alice) is None

    # Refused again without a new file: still kept.
    again = post_form(
        portal_stack, alice, valid_form(business_name="", held_logo=logo_id, held_logo_name=name)
    )
    assert held_logo(again.text) == (logo_id, name)

    saved = post_form(portal_stack, alice, valid_form(held_logo=logo_id, held_logo_name=name))
    assert saved.status_code == 303, saved.text[-2000:]
    assert logo_url(portal_stack, alice) == f"http://testserver/logos/{logo_id}.png"
    assert portal_stack.client.get(f"/logos/{logo_id}.png").content == image


def test_a_held_logo_can_be_removed_or_replaced_and_a_bad_file_does_not_lose_it(
    portal_stack: PortalStack,
) -> None:
    bob = portal_stack.customer("bob@example.com", "starter", business={})
    first = post_form(
        portal_stack,
        bob,
        valid_form(city=""),
        files={"logo": ("first.png", png(1, 1), "image/png")},
    )
    logo_id, name = held_logo(first.text)

    not_an_image = post_form(
        portal_stack,
        bob,
        valid_form(city="", held_logo=logo_id, held_logo_name=name),
        files={"logo": ("second.png", b"GIF89a" + b"\x00" * 20, "image/png")},
    )
    assert "must be a PNG, JPEG or WebP image" in field_error(not_an_image.text, "logo")
    assert held_logo(not_an_image.text) == (logo_id, name)

    replaced = post_form(
        portal_stack,
        bob,
        valid_form(city="", held_logo=logo_id, held_logo_name=name),
        files={"logo": ("second.png", png(2, 1), "image/png")},
    )
    second_id, second_name = held_logo(replaced.text)
    assert (second_id != logo_id, second_name) == (True, "second.png")

    dropped = post_form(
        portal_stack,
        bob,
        valid_form(held_logo=second_id, held_logo_name=second_name, drop_held_logo="on"),
    )
    assert dropped.status_code == 303
    assert logo_url(portal_stack, bob) is None


def test_another_customers_logo_id_is_neither_shown_nor_used(portal_stack: PortalStack) -> None:
    alice = portal_stack.customer("alice@example.com", "starter", business={})
    mallory = portal_stack.customer("mallory@example.com", "starter", business={})
    refused = post_form(
        portal_stack,
        alice,
        valid_form(city=""),
        files={"logo": ("alice.png", png(4, 4), "image/png")},
    )
    alice_logo, _ = held_logo(refused.text)

    for held in (alice_logo, str(uuid.uuid4()), "../../etc/passwd"):
        shown = post_form(
            portal_stack, mallory, valid_form(city="", held_logo=held, held_logo_name="x.png")
        )
        assert shown.status_code == 400
        assert "Logo kept" not in shown.text
        assert alice_logo not in shown.text
    saved = post_form(
        portal_stack, mallory, valid_form(held_logo=alice_logo, held_logo_name="x.png")
    )
    assert saved.status_code == 303
    assert logo_url(portal_stack, mallory) is None
    assert logo_url(portal_stack, alice) is None


def logo_rows(stack: PortalStack, customer: Customer) -> int:
    with psycopg.connect(stack.db_url) as conn:
        row = conn.execute(
            "select count(*) from customer_logos where customer_id = %s", (customer.customer_id,)
        ).fetchone()
    assert row is not None
    return int(row[0])


def test_refused_forms_with_new_files_hold_one_logo_and_a_refunded_order_holds_none(
    portal_stack: PortalStack,
) -> None:
    carol = portal_stack.customer("carol@example.com", "starter", business={})
    for n in range(1, 5):
        refused = post_form(
            portal_stack,
            carol,
            valid_form(city=""),
            files={"logo": (f"try{n}.png", png(n, 1), "image/png")},
        )
        assert refused.status_code == 400
    last_id, _ = held_logo(refused.text)
    assert logo_rows(portal_stack, carol) == 1, "each new file replaces the order's held one"
    assert portal_stack.client.get(f"/logos/{last_id}.png").content == png(4, 1)

    with psycopg.connect(portal_stack.db_url) as conn:
        conn.execute("update orders set status = 'refunded' where id = %s", (carol.order_id,))
    refunded = post_form(
        portal_stack,
        carol,
        valid_form(city=""),
        files={"logo": ("late.png", png(5, 1), "image/png")},
    )
    assert refunded.status_code == 409
    assert "no longer active" in refunded.text
    assert "Logo kept" not in refunded.text
    assert logo_rows(portal_stack, carol) == 1, "a refunded order stores no upload"


def test_remove_logo_wins_over_a_held_logo_and_the_profiles(portal_stack: PortalStack) -> None:
    dave = portal_stack.customer("dave@example.com", "starter", business={})
    first = post_form(
        portal_stack,
        dave,
        valid_form(city=""),
        files={"logo": ("first.png", png(6, 1), "image/png")},
    )
    logo_id, name = held_logo(first.text)
    saved = post_form(portal_stack, dave, valid_form(held_logo=logo_id, held_logo_name=name))
    assert saved.status_code == 303
    assert logo_url(portal_stack, dave) == f"http://testserver/logos/{logo_id}.png"

    again = post_form(
        portal_stack,
        dave,
        valid_form(city=""),
        files={"logo": ("second.png", png(7, 1), "image/png")},
    )
    second_id, second_name = held_logo(again.text)
    removed = post_form(
        portal_stack,
        dave,
        valid_form(held_logo=second_id, held_logo_name=second_name, remove_logo="on"),
        files={"logo": ("third.png", png(8, 1), "image/png")},
    )
    assert removed.status_code == 303, removed.text[-2000:]
    assert logo_url(portal_stack, dave) is None
