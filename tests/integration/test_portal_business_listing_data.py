"""What a listing publishes comes from the fields the customer filled for it: the public email
is its own optional field (never the sign-in address), and what the business offers
(storefront, takeaway…) is answered Yes / No / not at all, through the portal into the job's
snapshot (real Postgres)."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from markupsafe import escape
from psycopg import sql

from dbolt.business import ATTRIBUTES, PUBLIC_EMAIL_MESSAGE, Business
from dbolt.typed_values import EMAIL_PATTERN
from tests.integration.test_portal_business import field_error, jobs_of, post_form, valid_form
from tests.support.portal_harness import Customer, PortalStack


@pytest.fixture
def alice(portal_stack: PortalStack) -> Customer:
    return portal_stack.customer("alice.private@example.com", "starter", business={})


def test_the_form_offers_a_public_email_and_each_attribute_with_its_browser_rule(
    portal_stack: PortalStack, alice: Customer
) -> None:
    html = portal_stack.client.get(f"/orders/{alice.order_id}/business", cookies=alice.cookies).text
    assert '<label for="public_email">Public email <span class="muted">(optional)</span>' in html
    # The browser's rule comes from the server's (business_form.js reads data-pattern).
    assert f'data-pattern="{escape(EMAIL_PATTERN.pattern)}"' in html
    for name in ATTRIBUTES:
        assert f'<select id="attr-{name}" name="attr-{name}"' in html
    # The sign-in address is not offered as the business's.
    assert 'value="alice.private@example.com"' not in html


def test_the_snapshot_carries_the_public_email_and_stated_attributes_never_the_sign_in_email(
    portal_stack: PortalStack, alice: Customer
) -> None:
    form = valid_form(
        public_email=" Hello@Bluebird-Bakery.example ",
        **{"attr-storefront": "yes", "attr-delivery": "no"},
    )
    response = post_form(portal_stack, alice, form)
    assert response.status_code == 303, response.text
    (_, _, snapshot) = jobs_of(portal_stack, alice)[0]
    assert snapshot["public_email"] == "hello@bluebird-bakery.example"
    assert snapshot["attributes"] == {"storefront": True, "delivery": False}
    assert "alice.private@example.com" not in str(snapshot)
    assert "email" not in snapshot
    # The form shows the answers again.
    page = portal_stack.client.get(f"/orders/{alice.order_id}/business", cookies=alice.cookies)
    assert 'value="hello@bluebird-bakery.example"' in page.text
    assert '<option value="yes" selected>Yes</option>' in page.text


def test_without_a_public_email_the_snapshot_has_no_email_at_all(
    portal_stack: PortalStack, alice: Customer
) -> None:
    assert post_form(portal_stack, alice, valid_form()).status_code == 303
    (_, _, snapshot) = jobs_of(portal_stack, alice)[0]
    assert "public_email" not in snapshot
    assert "email" not in snapshot
    assert snapshot["attributes"] == {}
    assert Business.model_validate(snapshot).public_email is None


def test_a_bad_public_email_is_refused_next_to_the_field(
    portal_stack: PortalStack, alice: Customer
) -> None:
    response = post_form(portal_stack, alice, valid_form(public_email="hello at bakery"))
    assert response.status_code == 400
    assert field_error(response.text, "public_email") == PUBLIC_EMAIL_MESSAGE
    # A display name (or a bidi override) is not a plain address either.
    for address in ('"Support" <hello@bakery.example>', "hello@bakery.example\u202emoc"):
        refused = post_form(portal_stack, alice, valid_form(public_email=address))
        assert refused.status_code == 400
        assert field_error(refused.text, "public_email") == PUBLIC_EMAIL_MESSAGE
    assert jobs_of(portal_stack, alice) == []


def test_the_database_refuses_unknown_attributes_and_non_addresses(
    portal_stack: PortalStack, alice: Customer
) -> None:
    with psycopg.connect(portal_stack.db_url) as conn:
        for column, value in (
            ("attributes", '{"takeaway": "yes"}'),
            ("attributes", '{"teleport": true}'),
            ("public_email", "not-an-address"),
        ):
            with pytest.raises(psycopg.errors.CheckViolation), conn.transaction():
                conn.execute(
                    sql.SQL("update customers set {} = %s where id = %s").format(
                        sql.Identifier(column)
                    ),
                    (value, alice.customer_id),
                )


def test_an_older_snapshot_s_sign_in_email_is_dropped_by_the_model() -> None:
    old: dict[str, Any] = {"business_name": "Old Job", "email": "buyer@private.example"}
    business = Business.model_validate(old)
    assert "buyer@private.example" not in business.model_dump_json()
