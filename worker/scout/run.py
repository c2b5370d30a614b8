"""Scouting a site: open its page in the worker's browser, record the form signature, walk the
"Next" steps of a multi-step form as far as sample values get it, take a screenshot of each
step, and propose a recipe draft. It never submits anything.

Never submitting is held three ways: no submit button is ever clicked (only `type=button`
"Next" buttons, addressed by a selector that cannot name a second element), nothing is typed
with Enter, and the browser context is read-only (worker/read_only.py): every request that is
not a GET or HEAD is aborted, and once the page has loaded so is every navigation, every
request with a query string or to a form's action, and every WebSocket — so even a "Next"
that turns out to send the form, with GET or a script, sends nothing (the refused requests
are listed in the report).

The URL comes from staff or a customer: an SSRF surface. It passes the worker's destination
policy before a browser starts (http or https only; public addresses, or the exact
WORKER_ALLOWED_PRIVATE_HOSTS pairs, which only development sets for the sandbox), and every
connection the browser then makes — redirects included — goes through the egress guard.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.async_api import (
    Browser,
    Frame,
    Page,
    Response,
    async_playwright,
)
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeout

from dbolt.business import Business
from worker.addresses import DestinationBlocked, DestinationPolicy, parse_allow_list
from worker.browser_launch import launch_options
from worker.business import BusinessValueError, resolve
from worker.egress_guard import BLOCKED_HEADER, EgressGuard
from worker.read_only import ReadOnlyRoute
from worker.scout.draft import button_selector, draft_recipe, field_selector, main_form
from worker.scout.settings import ScoutSettings
from worker.scout.signature import CUT, page_signature, signature_digest

log = logging.getLogger(__name__)

# How long a page may take to build its form with a script after it has loaded.
FORM_WAIT_MS = 3_000
# An error page (4xx/5xx) rarely builds a form later: a short look is enough.
ERROR_PAGE_WAIT_MS = 500
STEP_SETTLE_MS = 300
# Typed into a multi-step form only to reveal the next step; never sent (see above).
DRY_RUN_BUSINESS = Business(
    business_name="Scout Dry Run Bakery",
    street_address="1 Example Street",
    city="Springfield",
    region="IL",
    postal_code="62701",
    country="US",
    phone="+12175550123",
    website="https://scout-dry-run.example",
    public_email="dry-run@scout-dry-run.example",
    category="bakery",
    description="A dry run of the DirectoryBolt scout: never submitted.",
)
# Below the orchestrator's 300 s scout lease: a page that stalls the browser ends as a
# failed scout rather than one taken again by another worker.
SCOUT_TIMEOUT_SECONDS = 240
# The orchestrator takes 20 screenshots a scout (dbolt/scout_contracts.py): one a step.
WALK_LIMIT = 20


class ScoutRefused(Exception):
    """The URL, or where the site sent the browser, is not one the worker may reach."""


class ScoutFailed(Exception):
    """The page could not be loaded at all (connection refused, a timeout...)."""


async def check_url(url: str, policy: DestinationPolicy) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise ScoutRefused(f"refused {url!r}: only http and https pages can be scouted")
    if not parts.hostname:
        raise ScoutRefused(f"refused {url!r}: no host")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        await policy.check(parts.hostname, port)
    except DestinationBlocked as blocked:
        raise ScoutRefused(f"refused {url}: {blocked.reason}") from None
    except ValueError:
        raise ScoutRefused(f"refused {url!r}: not a valid port") from None
    except (OSError, TimeoutError):
        raise ScoutFailed(f"{url}: {parts.hostname} does not resolve") from None


async def _settle(page: Page, response: Response | None) -> None:
    """Let scripts build the form; a page that never settles is scouted as it is."""
    patience = ERROR_PAGE_WAIT_MS if response is not None and response.status >= 400 else None
    for wait in (
        page.wait_for_load_state("load"),
        page.wait_for_selector(
            "form, input, select, textarea, iframe", timeout=patience or FORM_WAIT_MS
        ),
    ):
        with contextlib.suppress(PlaywrightTimeout):
            await wait


async def _form_frame(page: Page, where: str) -> Frame | None:
    if where == "main":
        return page.main_frame
    handle = await page.locator(where).first.element_handle()
    return await handle.content_frame() if handle else None


async def _fill_for_dry_run(frame: Frame, step: dict[str, Any]) -> None:
    element = frame.locator(step["selector"]).first
    if not await element.is_visible():
        return
    if step["action"] == "check":
        # Only the terms box: an attribute or a "closed" box is the customer's to answer.
        if step.get("consent"):
            await element.set_checked(True)
    elif step["action"] == "select":
        options: list[dict[str, str]] = await element.evaluate(
            "el => [...el.options].map(o => ({value: o.value, label: o.text}))"
        )
        try:
            wanted = resolve(DRY_RUN_BUSINESS, step["value"], None, None).lower()
        except BusinessValueError:
            wanted = ""
        chosen = next(
            (o["value"] for o in options if wanted in (o["value"].lower(), o["label"].lower())),
            next((o["value"] for o in options if o["value"]), None),
        )
        if chosen is not None:
            await element.select_option(value=chosen)
    elif step["action"] == "fill":
        try:
            text = resolve(DRY_RUN_BUSINESS, step["value"], None, step.get("transform"))
        except BusinessValueError:
            return
        await element.fill(str(text))


async def _dry_run_steps(
    page: Page, signature: dict[str, Any], draft: dict[str, Any], shots: list[Path], out: Path
) -> dict[str, Any]:
    """Reveal each step with sample values and a `type=button` Next, never a submit."""
    form = main_form(signature)
    seen = signature["steps"]
    if form is None or form["steps"] < 2 or draft["recipe"] is None:
        return {"seen": seen, "reached": min(seen, 1), "stopped": None}
    frame = await _form_frame(page, form["frame"])
    if frame is None:
        return {"seen": seen, "reached": 1, "stopped": "the form's frame is gone"}
    fills = {m["selector"] for m in draft["mapped"]}
    steps = [s for s in draft["recipe"]["steps"] if s.get("selector") in fills]
    by_field = {field_selector(f): f["step"] for f in form["fields"]}
    reached = 1
    for number in range(1, form["steps"]):
        if len(shots) >= WALK_LIMIT:
            return {"seen": seen, "reached": reached, "stopped": f"{CUT} walked {WALK_LIMIT} steps"}
        for step in steps:
            if by_field.get(step["selector"]) == number:
                await _fill_for_dry_run(frame, step)
        button = next(
            (b for b in form["buttons"] if b["role"] == "next" and b["step"] == number), None
        )
        if button is None or button["type"] != "button":
            return {"seen": seen, "reached": reached, "stopped": f"no Next button on step {number}"}
        await frame.locator(button_selector(button)).first.click()
        await page.wait_for_timeout(STEP_SETTLE_MS)
        later = [f for f in form["fields"] if f["step"] == number + 1 and f["type"] != "hidden"]
        shown = [
            await frame.locator(field_selector(f)).first.is_visible()
            for f in later
            if field_selector(f)
        ]
        if not any(shown):
            why = f"step {number + 1} did not open with sample values (the site kept step {number})"
            return {"seen": seen, "reached": reached, "stopped": why}
        reached = number + 1
        shots.append(out / f"step-{reached}.png")
        await page.screenshot(path=shots[-1], full_page=True)
    return {"seen": seen, "reached": reached, "stopped": None}


async def scout(
    url: str, out_dir: Path, settings: ScoutSettings | None = None, browser: Browser | None = None
) -> dict[str, Any]:
    """The scout's report: signature, digest, draft, walls, steps, screenshots. Raises
    ScoutRefused for a destination the worker may not reach, ScoutFailed for a dead page.
    `browser`: one already launched (a round over many sites); else one is launched."""
    settings = settings or ScoutSettings()
    policy = DestinationPolicy(parse_allow_list(settings.worker_allowed_private_hosts))
    await check_url(url, policy)
    await asyncio.to_thread(out_dir.mkdir, parents=True, exist_ok=True)
    try:
        async with asyncio.timeout(SCOUT_TIMEOUT_SECONDS):
            if browser is not None:
                return await _scout_in(browser, url, out_dir, settings, policy)
            async with async_playwright() as playwright:
                launched = await playwright.chromium.launch(**launch_options(settings))
                try:
                    return await _scout_in(launched, url, out_dir, settings, policy)
                finally:
                    await launched.close()
    except TimeoutError:
        raise ScoutFailed(
            f"{url}: the page kept the scout busy for over {SCOUT_TIMEOUT_SECONDS} s"
        ) from None


async def _scout_in(
    browser: Browser, url: str, out_dir: Path, settings: ScoutSettings, policy: DestinationPolicy
) -> dict[str, Any]:
    guard = await EgressGuard(policy).start()
    read_only = ReadOnlyRoute()
    # Its own context, as every attempt: no cookies or storage from another site.
    context = await browser.new_context(proxy=guard.playwright())  # type: ignore[arg-type]
    try:
        context.set_default_timeout(settings.step_timeout_ms)
        context.set_default_navigation_timeout(settings.navigation_timeout_ms)
        await read_only.install(context)
        page = await context.new_page()
        try:
            response = await page.goto(url, wait_until="domcontentloaded")
        except PlaywrightError as error:
            if guard.blocked:
                raise ScoutRefused(f"refused {url}: {guard.blocked[0]}") from None
            raise ScoutFailed(f"{url}: {str(error).splitlines()[0]}") from None
        if response is not None and response.headers.get(BLOCKED_HEADER.lower()):
            where = guard.blocked[0] if guard.blocked else "a blocked address"
            raise ScoutRefused(f"refused {url}: the site sent the browser to {where}")
        await _settle(page, response)
        # Nothing is typed or clicked before this: from here on, nothing typed can go out.
        await read_only.loaded(page)
        signature = await page_signature(page, response)
        draft = draft_recipe(signature)
        shots = [out_dir / "step-1.png"]
        await page.screenshot(path=shots[0], full_page=True)
        steps = await _dry_run_steps(page, signature, draft, shots, out_dir)
    finally:
        await context.close()
        await guard.close()
    return {
        "url": url,
        "signature": signature,
        "digest": signature_digest(signature),
        "draft": draft,
        "walls": signature["walls"],
        "captcha": signature["captcha"],
        "steps": steps,
        "screenshots": [str(path) for path in shots],
        "blocked": list(guard.blocked),
        "not_sent": read_only.not_sent,
    }


def scout_sync(url: str, out_dir: Path, settings: ScoutSettings | None = None) -> dict[str, Any]:
    return asyncio.run(scout(url, out_dir, settings))
