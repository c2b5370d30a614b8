"""The sandbox sites both sides submit to, and the bare loop's hand-written fillers for them.

Only sites that confirm quickly without a captcha, a proxy or a deliberate failure: what is
measured is the cost of submitting, not of waiting. `js-form` is left out by default because
its form appears only after a fixed 500 ms timer, which both sides would sit through alike and
which would only dilute the ratio (`--sites` can add it back).

The fillers are what someone would write without DirectoryBolt: one function per site,
selectors read off the sandbox's HTML once, values typed in already transformed (the phone in
the format each site wants, the opening hours per weekday). They fill the same fields with the
same data the recipes and the generic filler use, from the same sample business.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from playwright.async_api import FrameLocator, Page

# dev.sample_business() in supabase/seed.sql, which every bench job's snapshot starts from;
# only the name and the email differ per business.
SAMPLE = {
    "street_address": "12 Orchard Lane",
    "city": "Springfield",
    "region": "IL",
    "postal_code": "62701",
    "country": "US",
    "country_name": "United States",
    "phone_e164": "+12175550123",
    "phone_national": "(217) 555-0123",
    "phone_digits": "2175550123",
    "website": "https://bluebird-bakery.example",
    "website_host": "bluebird-bakery.example",
    "category": "bakery",
    "description": "A neighbourhood bakery baking sourdough and pastries since 2009.",
}
# The sample's hours: the first range of each weekday, None when closed.
HOURS: dict[str, tuple[str, str] | None] = {
    "mon": ("07:00", "15:00"),
    "tue": ("07:00", "15:00"),
    "wed": ("07:00", "15:00"),
    "thu": ("07:00", "15:00"),
    "fri": ("07:00", "12:00"),
    "sat": ("08:00", "13:00"),
    "sun": None,
}
HOURS_TEXT = (
    "Mon 07:00-15:00; Tue 07:00-15:00; Wed 07:00-15:00; Thu 07:00-15:00; "
    "Fri 07:00-12:00, 13:00-18:00; Sat 08:00-13:00; Sun closed"
)
CONFIRMATION = ".confirmation"

DEFAULT_SITES = (
    "plain",
    "multistep",
    "iframe",
    "choices",
    "hours",
    "auto-labels",
    "auto-placeholders",
    "auto-autocomplete",
)


@dataclass(frozen=True)
class Business:
    name: str
    email: str


Target = Page | FrameLocator
Filler = Callable[[Page, str, Business], Awaitable[None]]


async def _fill_all(target: Target, values: Mapping[str, str]) -> None:
    for selector, value in values.items():
        await target.locator(selector).fill(value)


async def _submit(target: Target, button: str = "button[type=submit]") -> None:
    """Click and wait for the confirmation the site shows on the page it answers with."""
    await target.locator(button).click()
    await target.locator(CONFIRMATION).wait_for(state="visible")


def _standard(business: Business, phone: str) -> dict[str, str]:
    return {
        "#business-name": business.name,
        "#street": SAMPLE["street_address"],
        "#city": SAMPLE["city"],
        "#region": SAMPLE["region"],
        "#postal-code": SAMPLE["postal_code"],
        "#country": SAMPLE["country_name"],
        "#phone": phone,
        "#website": SAMPLE["website"],
        "#email": business.email,
        "#category": SAMPLE["category"],
        "#description": SAMPLE["description"],
    }


async def plain(page: Page, base: str, business: Business) -> None:
    await page.goto(f"{base}/plain/submit", wait_until="domcontentloaded")
    await _fill_all(page, _standard(business, SAMPLE["phone_national"]))
    await _submit(page)


async def iframe(page: Page, base: str, business: Business) -> None:
    await page.goto(f"{base}/iframe/submit", wait_until="domcontentloaded")
    frame = page.frame_locator("iframe#submit-frame")
    await _fill_all(frame, _standard(business, SAMPLE["phone_national"]))
    await _submit(frame)


async def js_form(page: Page, base: str, business: Business) -> None:
    await page.goto(f"{base}/js-form/submit", wait_until="domcontentloaded")
    # fill() waits for each field, so the form's late arrival needs no explicit wait.
    await _fill_all(page, _standard(business, SAMPLE["phone_e164"]))
    await _submit(page)


async def multistep(page: Page, base: str, business: Business) -> None:
    await page.goto(f"{base}/multistep/submit", wait_until="domcontentloaded")
    await _fill_all(
        page,
        {
            "#ms-name": business.name,
            "#ms-category": SAMPLE["category"],
            "#ms-website": SAMPLE["website"],
            "#ms-description": SAMPLE["description"],
        },
    )
    await page.locator("#step-1 button.next").click()
    await _fill_all(
        page,
        {
            "#ms-street": SAMPLE["street_address"],
            "#ms-city": SAMPLE["city"],
            "#ms-region": SAMPLE["region"],
            "#ms-postal": SAMPLE["postal_code"],
        },
    )
    await page.locator("#ms-country").select_option(SAMPLE["country"])
    await page.locator("#step-2 button.next").click()
    await _fill_all(
        page,
        {"#ms-phone": SAMPLE["phone_digits"], "#ms-email": business.email, "#ms-hours": HOURS_TEXT},
    )
    await _submit(page, "#step-3 button[type=submit]")


def _address(business: Business, phone: str, website: str) -> dict[str, str]:
    return {
        "#business-name": business.name,
        "#street": SAMPLE["street_address"],
        "#city": SAMPLE["city"],
        "#region": SAMPLE["region"],
        "#postal-code": SAMPLE["postal_code"],
        "#phone": phone,
        "#website": website,
        "#email": business.email,
    }


async def choices(page: Page, base: str, business: Business) -> None:
    await page.goto(f"{base}/choices/submit", wait_until="domcontentloaded")
    await _fill_all(page, _address(business, SAMPLE["phone_e164"], SAMPLE["website"]))
    await page.locator("#category").select_option(SAMPLE["category"])
    for box in ("#type-storefront", "#service-takeaway", "#terms"):
        await page.locator(box).check()
    await _submit(page)


async def hours(page: Page, base: str, business: Business) -> None:
    await page.goto(f"{base}/hours/submit", wait_until="domcontentloaded")
    fields = _address(business, SAMPLE["phone_national"], SAMPLE["website_host"])
    await _fill_all(page, fields | {"#category": SAMPLE["category"]})
    for day, span in HOURS.items():
        if span is None:
            await page.locator(f"#hours-{day}-closed").check()
        else:
            await _fill_all(page, {f"#hours-{day}-open": span[0], f"#hours-{day}-close": span[1]})
    await _submit(page)


async def auto_labels(page: Page, base: str, business: Business) -> None:
    await page.goto(f"{base}/auto-labels/submit", wait_until="domcontentloaded")
    values = (
        business.name,
        SAMPLE["street_address"],
        SAMPLE["city"],
        SAMPLE["region"],
        SAMPLE["postal_code"],
        SAMPLE["phone_national"],
        SAMPLE["website"],
        business.email,
        SAMPLE["category"],
    )
    await _fill_all(page, {f"#f{number}": value for number, value in enumerate(values, 1)})
    await _submit(page)


async def auto_placeholders(page: Page, base: str, business: Business) -> None:
    await page.goto(f"{base}/auto-placeholders/submit", wait_until="domcontentloaded")
    first = (
        business.name,
        SAMPLE["street_address"],
        SAMPLE["city"],
        SAMPLE["region"],
        SAMPLE["postal_code"],
    )
    await _fill_all(page, {f"#p{number}": value for number, value in enumerate(first, 1)})
    await page.locator("button.continue").click()
    second = (
        SAMPLE["phone_national"],
        SAMPLE["website"],
        business.email,
        SAMPLE["category"],
        SAMPLE["description"],
    )
    await _fill_all(page, {f"#q{number}": value for number, value in enumerate(second, 1)})
    await _submit(page)


async def auto_autocomplete(page: Page, base: str, business: Business) -> None:
    await page.goto(f"{base}/auto-autocomplete/submit", wait_until="domcontentloaded")
    values = (
        business.name,
        SAMPLE["street_address"],
        SAMPLE["city"],
        SAMPLE["region"],
        SAMPLE["postal_code"],
        SAMPLE["country_name"],
        SAMPLE["phone_national"],
        SAMPLE["website"],
        business.email,
    )
    await _fill_all(page, {f"#ac{number}": value for number, value in enumerate(values, 1)})
    await page.locator("#ac10").select_option(label="Bakery")
    await page.locator("#ac-terms").check()
    await _submit(page)


FILLERS: dict[str, Filler] = {
    "plain": plain,
    "multistep": multistep,
    "js-form": js_form,
    "iframe": iframe,
    "choices": choices,
    "hours": hours,
    "auto-labels": auto_labels,
    "auto-placeholders": auto_placeholders,
    "auto-autocomplete": auto_autocomplete,
}


def businesses(label: str, count: int) -> list[Business]:
    """Distinct businesses, so the sandbox's records tell every submission apart."""
    slug = label.lower().replace(" ", "-")
    return [
        Business(f"Bench {label} Bakery {number:04d}", f"bench-{slug}-{number}@example.com")
        for number in range(1, count + 1)
    ]
