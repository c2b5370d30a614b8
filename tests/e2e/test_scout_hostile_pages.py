"""The scout against pages written to make it send, hang or misread (the security review of
issue 17), in real Chromium against a throwaway loopback server that records every request.

A page whose "Next" button has the id `n, #go` must not turn the scout's click into a click on
its submit button (`#go`), and nothing typed may reach the site: not by a GET form, not by a
script's fetch with a query string, an image beacon or a WebSocket.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import unquote_plus

import pytest
from playwright.async_api import async_playwright

from dbolt.canary import CanaryDirectory
from tests.support.loopback_server import serving
from worker.addresses import DestinationPolicy, parse_allow_list
from worker.browser_launch import launch_options
from worker.canary.dry_run import DryRun, dry_run
from worker.scout.draft import draft_recipe, field_selector
from worker.scout.run import scout
from worker.scout.settings import ScoutSettings

HOSTILE_FORM = b"""<!doctype html><title>Add your business</title>
<form method="get" action="/add">
  <div id="one">
    <label>Business name <input name="business" required></label>
    <button type="button" id="n, #go">Next</button>
  </div>
  <div id="two" hidden><label>Email <input name="email" type="email"></label></div>
  <button type="submit" id="go">Send</button>
</form>
<script>
document.getElementById('n, #go').addEventListener('click', () => {
  const typed = encodeURIComponent(document.querySelector('[name=business]').value);
  fetch('/leak?business=' + typed).catch(() => {});
  new Image().src = '/pixel?business=' + typed;
  try { new WebSocket('ws://' + location.host + '/socket?business=' + typed); } catch (e) {}
  document.getElementById('one').hidden = true;
  document.getElementById('two').hidden = false;
  // And the form itself, sent by script (no submit button clicked): a GET navigation.
  document.forms[0].submit();
});
</script>"""
SAMPLE_WORDS = ("Scout Dry Run", "dry-run@scout")


def _page(body: bytes, seen: list[str]) -> Callable[[BaseHTTPRequestHandler], None]:
    def answer(handler: BaseHTTPRequestHandler) -> None:
        seen.append(handler.path)
        content = body if handler.path == "/" else b"no"
        handler.send_response(200 if handler.path == "/" else 404)
        handler.send_header("Content-Type", "text/html; charset=utf-8")
        handler.send_header("Content-Length", str(len(content)))
        handler.end_headers()
        handler.wfile.write(content)

    return answer


@pytest.fixture
def hostile() -> Iterator[tuple[str, list[str]]]:
    seen: list[str] = []
    with serving(_page(HOSTILE_FORM, seen)) as origin:
        yield origin, seen


def _settings(origin: str) -> ScoutSettings:
    return ScoutSettings(worker_allowed_private_hosts=origin.split("://", 1)[1])


def test_a_next_button_id_cannot_click_the_submit_nor_send_what_was_typed(
    hostile: tuple[str, list[str]], tmp_path: Path
) -> None:
    origin, seen = hostile
    report = asyncio.run(scout(f"{origin}/", tmp_path, _settings(origin)))

    assert report["steps"]["reached"] == 2, report["steps"]  # the real Next was clicked
    assert not [path for path in seen if path.startswith("/add")], seen
    sent = [unquote_plus(path) for path in seen]
    assert not [p for p in sent if any(word in p for word in SAMPLE_WORDS)], sent
    assert seen == ["/"]
    refused = " ".join(report["not_sent"])
    for what in (
        f"GET {origin}/leak",
        f"GET {origin}/pixel",
        f"GET {origin}/add",
        "WEBSOCKET ws://",
    ):
        assert what in refused, report["not_sent"]
    # Neither the walk nor the draft staff save holds the page's selector list.
    selectors = [s.get("selector", "") for s in report["draft"]["recipe"]["steps"]]
    assert not [s for s in selectors if "," in s], selectors
    clicks = [s for s in report["draft"]["recipe"]["steps"] if s["action"] == "click"]
    assert clicks == [{"action": "click", "selector": 'button:has-text("Next"):visible'}]


def test_an_id_that_is_not_a_plain_name_is_never_a_selector() -> None:
    button = {"id": "n, #go", "type": "button", "text": "Next", "role": "next", "step": 1}
    field = {"id": "a, #b", "name": "business", "type": "text", "required": True}
    signature = {
        "walls": [],
        "captcha": "none",
        "forms": [
            {
                "purpose": "listing",
                "frame": "main",
                "steps": 2,
                "fields": [field | {"step": 1, "label": "Business name"}],
                "buttons": [button],
            }
        ],
    }
    assert field_selector(field) == '[name="business"]'
    steps = draft_recipe(signature)["recipe"]["steps"]
    assert {"action": "click", "selector": 'button:has-text("Next"):visible'} in steps


def test_an_accented_name_is_matched_in_chromium() -> None:
    html = '<input name="catégorie" placeholder="Ça &quot;va&quot;&#10;"><input aria-label="x\\y">'

    async def count(selector: str) -> int:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(**launch_options(ScoutSettings()))
            try:
                page = await browser.new_page()
                await page.set_content(html)
                return await page.locator(selector).count()
            finally:
                await browser.close()

    field = {"id": "", "name": "catégorie", "type": "text"}
    assert field_selector(field) == '[name="catégorie"]'
    assert asyncio.run(count(field_selector(field))) == 1
    by_placeholder = field_selector({"id": "", "name": "", "placeholder": 'Ça "va"\n', "type": ""})
    assert asyncio.run(count(by_placeholder)) == 1
    by_label = field_selector({"id": "", "name": "", "aria_label": "x\\y", "type": "text"})
    assert asyncio.run(count(by_label)) == 1


def test_the_canarys_dry_run_sends_nothing_typed_either(
    hostile: tuple[str, list[str]],
) -> None:
    """The canary walks a reviewed recipe up to its submit: the page's own script, run by
    the recipe's Next, may try to send what was typed; it cannot."""
    origin, seen = hostile
    recipe = {
        "steps": [
            {"action": "goto", "url": "{submit_url}"},
            {"action": "fill", "selector": "[name=business]", "value": "business_name"},
            {"action": "click", "selector": 'button:has-text("Next"):visible'},
            {"action": "submit", "selector": "#go"},
        ]
    }
    directory = CanaryDirectory(
        directory_id="hostile",
        name="Hostile",
        mode="recipe",
        homepage=origin,
        submit_url=f"{origin}/",
        recipe=recipe,
    )

    async def run() -> DryRun:
        policy = DestinationPolicy(parse_allow_list(origin.split("://", 1)[1]))
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(**launch_options(ScoutSettings()))
            try:
                return await dry_run(browser, directory, policy, 10_000, 5_000)
            finally:
                await browser.close()

    found = asyncio.run(run())
    assert found.failed_step is None, found.error
    assert seen == ["/"], seen
    refused = " ".join(found.not_sent)
    # The recipe's last step is the click: the form's navigation may start after it.
    for what in (f"GET {origin}/leak", f"GET {origin}/pixel", "WEBSOCKET ws://"):
        assert what in refused, found.not_sent
