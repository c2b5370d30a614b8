"""A listing page that renders with scripts: plain HTTP sees no listing, the worker's
Chromium (when the recipe's live_check says "browser": true) sees it live, through the same
egress guard."""

from __future__ import annotations

import asyncio
import os
import uuid
from typing import Any

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from playwright.async_api import async_playwright

from dbolt.contracts import LiveCheckResult, LiveCheckTask
from devstack.serving import AppServer
from worker.addresses import DestinationPolicy
from worker.browser_launch import CHROMIUM_ARGS
from worker.live_checks import LiveChecker

CHROMIUM = os.environ.get("CHROMIUM_PATH") or "/usr/lib/chromium/chromium"
SCRIPTED = """<html><body><div id="app">Loading…</div><script>
document.getElementById("app").innerHTML =
  '<h1 class="name">Bluebird Bakery</h1><p class="addr">12 Orchard Lane, Springfield, IL 62701</p>'
  + '<p>Call <span class="tel">(217) 555-0123</span></p>';
</script></body></html>"""


def _task(url: str, recipe: dict[str, Any]) -> LiveCheckTask:
    return LiveCheckTask.model_validate(
        {
            "check_id": 1,
            "lease_token": uuid.uuid4(),
            "job_id": uuid.uuid4(),
            "directory_id": "dir-scripted",
            "listing_url": url,
            "recipe": recipe,
            "business": {
                "business_name": "Bluebird Bakery",
                "street_address": "12 Orchard Lane",
                "city": "Springfield",
                "postal_code": "62701",
                "country": "US",
                "phone": "+12175550123",
            },
            "seq": 1,
            "last": False,
        }
    )


def test_a_scripted_listing_is_read_in_the_browser_when_the_recipe_says_so() -> None:
    app = FastAPI()
    app.add_api_route("/listing", lambda: HTMLResponse(SCRIPTED), methods=["GET"])
    with AppServer(app, "the scripted listing") as server:
        url = f"{server.url}/listing"
        allowed = DestinationPolicy(frozenset({server.url.removeprefix("http://")}))

        async def run() -> tuple[LiveCheckResult, LiveCheckResult]:
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(
                    executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
                )
                try:
                    checker = LiveChecker(allowed, timeout_seconds=10, browser=browser)
                    selectors = {"name": ".name", "address": ".addr", "phone": ".tel"}
                    plain = await checker.check(_task(url, selectors))
                    scripted = await checker.check(_task(url, {**selectors, "browser": True}))
                finally:
                    await browser.close()
            return plain.result, scripted.result

        plain, scripted = asyncio.run(run())
    assert plain is LiveCheckResult.not_found, "plain HTTP sees only 'Loading…'"
    assert scripted is LiveCheckResult.live
