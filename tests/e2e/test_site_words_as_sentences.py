"""A directory's page says what it needs under a heading: the sandbox's email-verify site
answers with an h1 "Check your email" and a paragraph "Almost done! We sent …". The worker
keeps the heading and the paragraph as separate sentences in what staff read ("Check your
email. Almost done! …", not "Check your email Almost done!"), whether the recipe names the
verification element or the whole page is read; the customer reads our own words for the
kind of action. Real Chromium, the real SubmissionEngine, the real sandbox page."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

from playwright.async_api import async_playwright

from dbolt.business import Business
from dbolt.contracts import Assignment, Outcome
from dbolt.directories import load_directories
from devstack.sandbox.app import create_app
from devstack.sandbox.settings import Settings
from devstack.serving import AppServer
from tests.support.browser import CHROMIUM
from tests.support.e2e_stack import SANDBOX_DEFAULT
from tests.support.sample_business import sample_business
from worker.addresses import DestinationPolicy, parse_allow_list
from worker.engine import EngineSettings, SubmissionEngine
from worker.outcome import AttemptResult

ROOT = Path(__file__).resolve().parents[2]
SITE = "sandbox-email-verify"
PUBLIC_EMAIL = "hello@bluebird-bakery.example"
# What staff read: the heading, then the paragraph, each its own sentence.
STAFF_READS = (
    "the site asked: Check your email. Almost done! We sent a verification email to "
    f"{PUBLIC_EMAIL}. Click the link in it to publish your listing."
)


def _entry(sandbox_url: str) -> dict[str, Any]:
    text = json.dumps(load_directories(ROOT / "directories.json"))
    [entry] = [e for e in json.loads(text.replace(SANDBOX_DEFAULT, sandbox_url)) if e["id"] == SITE]
    return {**entry, "directory_id": entry["id"]}


def _business() -> Business:
    # As the worker receives it: through the wire contract.
    assignment = Assignment.model_validate(
        {
            "job_id": str(uuid.uuid4()),
            "tier": "starter",
            "lease_token": str(uuid.uuid4()),
            "lease_expires_at": "2030-01-01T00:00:00Z",
            "business": sample_business(public_email=PUBLIC_EMAIL),
            "directories_total": 1,
            "directories": [],
        }
    )
    return assignment.business


def _attempts(tmp_path: Path, entries: list[dict[str, Any]], host: str) -> list[AttemptResult]:
    settings = EngineSettings(8000, 8000, tmp_path / "artifacts")
    settings.destinations = DestinationPolicy(parse_allow_list(host))

    async def run() -> list[AttemptResult]:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM)
            try:
                engine = SubmissionEngine(browser, None, settings)
                return [await engine.attempt(entry, _business(), None) for entry in entries]
            finally:
                await browser.close()

    return asyncio.run(run())


def test_a_heading_and_its_paragraph_stay_separate_sentences(tmp_path: Path) -> None:
    with AppServer(create_app(Settings()), "the sandbox") as sandbox:
        by_recipe = _entry(sandbox.url)
        # The same site read as a whole page (auto mode, or a recipe without an expect step).
        steps = [s for s in by_recipe["recipe"]["steps"] if s["action"] != "expect"]
        whole_page = {**by_recipe, "recipe": {"steps": steps}}
        results = _attempts(tmp_path, [by_recipe, whole_page], sandbox.url.removeprefix("http://"))

    for result in results:
        assert result.outcome is Outcome.needs_action, result
        assert result.message == STAFF_READS
        assert result.action_required == (
            f"{by_recipe['name']} sent a confirmation email to your business email "
            f"({PUBLIC_EMAIL}); open it and click the link in it."
        )
