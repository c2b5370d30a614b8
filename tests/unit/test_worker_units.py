"""Unit tests of the worker's pure parts: value transforms, recipe parsing, the generic
filler's field mapping, outcome classification, proxy rotation."""

from __future__ import annotations

from typing import Any

import pytest

from dbolt.business import Business
from dbolt.contracts import Outcome
from worker.automap import FieldInfo, plan
from worker.business import BusinessValueError, hours_text, resolve
from worker.outcome import AttemptFailed, AttemptResult, classify_text, from_status
from worker.proxies import ProxiesExhausted, ProxyPool, parse_proxy_urls
from worker.recipe import Fill, RecipeError, parse_recipe

BUSINESS = Business.model_validate(
    {
        "business_name": "Bluebird Bakery",
        "street_address": "12 Orchard Lane",
        "city": "Springfield",
        "region": "IL",
        "postal_code": "62701",
        "country": "US",
        "phone": "+12175550123",
        "website": "https://bluebird-bakery.example",
        "category": "bakery",
        "public_email": "hello@bluebird-bakery.example",
        "hours": {
            "mon": [{"open": "07:00", "close": "15:00"}],
            "tue": [],
            "wed": [],
            "thu": [],
            "sat": [],
            "sun": [],
            "fri": [{"open": "07:00", "close": "12:00"}, {"open": "13:00", "close": "18:00"}],
        },
    }
)


@pytest.mark.parametrize(
    ("value", "transform", "expected"),
    [
        ("phone", None, "+12175550123"),
        ("phone", "phone_national", "(217) 555-0123"),
        ("phone", "phone_digits", "2175550123"),
        ("country", "country_name", "United States"),
        ("website", "website_host", "bluebird-bakery.example"),
        ("business_name", "upper", "BLUEBIRD BAKERY"),
        (None, "full_address", "12 Orchard Lane, Springfield, IL 62701, US"),
        (None, "hours_mon_open", "07:00"),
        (None, "hours_sun_closed", "true"),
        (None, "hours_fri_close", "12:00"),
    ],
)
def test_values_and_transforms(value: str | None, transform: str | None, expected: str) -> None:
    assert resolve(BUSINESS, value, None, transform) == expected


def test_hours_text_lists_every_day() -> None:
    assert hours_text(BUSINESS) == (
        "Mon 07:00-15:00; Tue closed; Wed closed; Thu closed; "
        "Fri 07:00-12:00, 13:00-18:00; Sat closed; Sun closed"
    )


def test_missing_values_and_unknown_transforms_are_named() -> None:
    with pytest.raises(BusinessValueError, match="the business has no tagline"):
        resolve(BUSINESS, "tagline", None, None)
    with pytest.raises(BusinessValueError, match="unknown transform 'rot13'"):
        resolve(BUSINESS, "phone", None, "rot13")


def test_a_recipe_parses_into_typed_steps() -> None:
    recipe = parse_recipe(
        {
            "steps": [
                {"action": "goto"},
                {"action": "fill", "selector": "#name", "value": "business_name"},
                {"action": "captcha", "kind": "image", "image": "#c", "input": "#a"},
                {"action": "expect", "success": ".confirmation"},
            ],
            "frame": "iframe#f",
        }
    )
    assert recipe.steps is not None
    assert isinstance(recipe.steps[1], Fill)
    assert recipe.frame == "iframe#f"


@pytest.mark.parametrize(
    ("recipe", "problem"),
    [
        ({"steps": []}, "recipe.steps"),
        ({"steps": [{"action": "teleport"}]}, "recipe.steps.0"),
        ({"steps": [{"action": "fill", "selector": "#x"}]}, "give exactly one of value or literal"),
        (
            {"steps": [{"action": "fill", "selector": "#x", "value": "shoe_size"}]},
            "value must be a business field",
        ),
        ({"steps": [{"action": "captcha", "kind": "image"}]}, "needs image and input selectors"),
        ({"steps": [{"action": "click"}]}, "recipe.steps.0.click.selector"),
    ],
)
def test_bad_recipes_are_refused_naming_the_step(recipe: dict[str, Any], problem: str) -> None:
    with pytest.raises(RecipeError, match=problem.replace(".", r"\.")):
        parse_recipe(recipe)


def _field(index: int, **kwargs: Any) -> FieldInfo:
    return FieldInfo(index=index, tag=kwargs.pop("tag", "input"), **kwargs)


def test_generic_filler_maps_by_autocomplete_label_name_and_type() -> None:
    fields = [
        _field(0, autocomplete="organization"),
        _field(1, label="Street address"),
        _field(2, name="town"),
        _field(3, label="State"),
        _field(4, placeholder="ZIP code"),
        _field(5, type="tel"),
        _field(6, type="email", name="contact"),
        _field(7, label="Website"),
        _field(8, tag="select", label="Category", options=(("", "Choose"), ("bak", "Bakery"))),
        _field(9, type="checkbox", label="I accept the terms"),
        _field(10, label="Favourite colour", required=True),
        _field(
            11,
            tag="select",
            label="Country",
            options=(("us", "United States"), ("gb", "United Kingdom")),
        ),
    ]
    planned, skipped = plan(fields, BUSINESS, "United States")
    by_index = {p.field.index: (p.kind, p.business_field, p.value) for p in planned}
    assert by_index == {
        0: ("fill", "business_name", "Bluebird Bakery"),
        1: ("fill", "street_address", "12 Orchard Lane"),
        2: ("fill", "city", "Springfield"),
        3: ("fill", "region", "IL"),
        4: ("fill", "postal_code", "62701"),
        5: ("fill", "phone", "+12175550123"),
        6: ("fill", "public_email", "hello@bluebird-bakery.example"),
        7: ("fill", "website", "https://bluebird-bakery.example"),
        8: ("select", "category", "bak"),
        9: ("check", None, "true"),
        11: ("select", "country", "us"),
    }
    assert [f.index for f in skipped] == [10], "an unknown field is left alone, not guessed"


def test_generic_filler_fills_each_business_value_once() -> None:
    planned, skipped = plan(
        [_field(0, label="Business name"), _field(1, label="Company")], BUSINESS, "United States"
    )
    assert [p.field.index for p in planned] == [0]
    assert [f.index for f in skipped] == [1]


@pytest.mark.parametrize(
    ("text", "outcome", "code", "confirmed"),
    [
        ("Thank you! Your listing has been submitted.", Outcome.success, None, True),
        ("Form received", Outcome.success, None, False),
        (
            "This business is already listed on our directory.",
            Outcome.permanent_error,
            "duplicate_listing",
            False,
        ),
        (
            "Almost done! We sent a verification email to a@b.c. Click the link.",
            Outcome.needs_action,
            None,
            False,
        ),
        ("The captcha answer was wrong", Outcome.transient_error, "captcha_unsolved", False),
        ("Too many requests from your network", Outcome.transient_error, "rate_limited", False),
    ],
)
def test_result_pages_are_classified_without_assuming_success(
    text: str, outcome: Outcome, code: str | None, confirmed: bool
) -> None:
    verdict = classify_text(text)
    if isinstance(verdict, AttemptFailed):
        assert (verdict.outcome, verdict.error_code) == (outcome, code)
    else:
        assert isinstance(verdict, AttemptResult)
        assert (verdict.outcome, verdict.confirmed) == (outcome, confirmed)
        if outcome is Outcome.needs_action:
            # The site's sentence is for staff; the customer's words come from its kind.
            assert verdict.action_required is None
            assert verdict.action_kind == "email_verification"
            assert verdict.message is not None
            assert "verification email" in verdict.message


@pytest.mark.parametrize(
    ("status", "outcome", "code"),
    [
        (429, Outcome.transient_error, "rate_limited"),
        (404, Outcome.permanent_error, "form_gone"),
        (500, Outcome.permanent_error, "site_down"),
        (503, Outcome.transient_error, "site_unavailable"),
        (502, Outcome.transient_error, "site_gateway_error"),
        (504, Outcome.transient_error, "site_gateway_error"),
        (407, Outcome.transient_error, "proxy_error"),
    ],
)
def test_http_statuses_are_classified(status: int, outcome: Outcome, code: str) -> None:
    failure = from_status(status, "http://127.0.0.1/x")
    assert failure is not None
    assert (failure.outcome, failure.error_code) == (outcome, code)
    assert from_status(200, "http://127.0.0.1/x") is None


def test_proxies_rotate_and_rest_after_failures() -> None:
    pool = ProxyPool(
        parse_proxy_urls("http://u:p@127.0.0.1:1001, http://u:p@127.0.0.1:1002"), base_backoff=60
    )
    first, second = pool.acquire(), pool.acquire()
    assert {first.label, second.label} == {"127.0.0.1:1001", "127.0.0.1:1002"}
    assert first.playwright() == {
        "server": "http://127.0.0.1:1001",
        "username": "u",
        "password": "p",
    }
    pool.failed(first)
    assert [p.label for p in pool.healthy()] == [second.label]
    assert pool.acquire(avoid=second.label).label == second.label, (
        "the only healthy one, even if avoided"
    )
    pool.failed(second)
    with pytest.raises(ProxiesExhausted):
        pool.acquire()
    pool.succeeded(first)
    assert pool.acquire().label == first.label


def test_a_proxy_that_failed_is_retried_only_when_no_clean_one_is_healthy() -> None:
    pool = ProxyPool(
        parse_proxy_urls("http://u:p@127.0.0.1:1001, http://u:p@127.0.0.1:1002"), base_backoff=60
    )
    dead, good = pool.proxies
    pool.failed(dead)
    dead.resting_until = 0.0  # its rest is over
    # Even when the good one is the proxy to avoid (the site failed through it), the one that
    # failed is not tried while the good one is healthy.
    assert [pool.acquire(avoid=good.label).label for _ in range(4)] == [good.label] * 4
    pool.failed(good)
    good.resting_until = float("inf")
    assert pool.acquire().label == dead.label, "the failed one when nothing else is healthy"
    pool.succeeded(dead)
    assert dead.failures == 0


def test_proxy_urls_are_validated() -> None:
    with pytest.raises(ValueError, match="PROXY_URLS entry 2"):
        parse_proxy_urls("http://u:p@127.0.0.1:1001,not-a-url")
