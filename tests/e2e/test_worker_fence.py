"""The worker's side of the `submitting` fence, with real Chromium and the real sandbox: the
engine awaits the fence right before the click that sends the form (recipe and generic
filler alike), and when the fence is refused the form is never sent."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import psycopg
import pytest
from playwright.async_api import async_playwright

from dbolt.business import Business
from dbolt.contracts import Outcome
from dbolt.directories import load_directories
from dbolt.orchestrator_client import LeaseLostError
from devstack.sandbox import Settings
from devstack.sandbox.server import SandboxServer
from tests.support.e2e_stack import ROOT, SANDBOX_DEFAULT
from worker.addresses import DestinationPolicy, parse_allow_list
from worker.engine import EngineSettings, SubmissionEngine
from worker.outcome import AttemptResult

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/lib/chromium/chromium"
SITES = {"sandbox-plain": "plain", "sandbox-auto-labels": "auto-labels"}


def _directories(sandbox_url: str) -> dict[str, dict[str, Any]]:
    text = json.dumps(load_directories(ROOT / "directories.json"))
    entries = json.loads(text.replace(SANDBOX_DEFAULT, sandbox_url))
    return {e["id"]: e | {"directory_id": e["id"]} for e in entries if e["id"] in SITES}


def _business(db_url: str) -> Business:
    with psycopg.connect(db_url) as conn:
        row = conn.execute("select dev.sample_business()").fetchone()
    assert row is not None
    # The job snapshot adds the contact email (the customer's); the sample has none.
    return Business.model_validate({"email": "owner@bluebird-bakery.example"} | row[0])


def _attempts(
    tmp_path: Path, sandbox_url: str, business: Business, refuse: bool
) -> dict[str, tuple[AttemptResult, list[int]]]:
    """Each site attempted once; with the submissions the sandbox had when the fence ran."""
    settings = EngineSettings(5000, 5000, tmp_path / "artifacts")
    settings.destinations = DestinationPolicy(parse_allow_list(urlsplit(sandbox_url).netloc))
    directories = _directories(sandbox_url)

    async def run() -> dict[str, tuple[AttemptResult, list[int]]]:
        results: dict[str, tuple[AttemptResult, list[int]]] = {}
        async with (
            async_playwright() as playwright,
            httpx.AsyncClient(base_url=sandbox_url) as http,
        ):
            browser = await playwright.chromium.launch(executable_path=CHROMIUM)
            try:
                engine = SubmissionEngine(browser, None, settings)
                for directory_id, site in SITES.items():
                    seen: list[int] = []

                    async def fence(site: str = site, seen: list[int] = seen) -> None:
                        got = (await http.get("/_admin/submissions", params={"site": site})).json()
                        seen.append(len(got))
                        if refuse:
                            raise LeaseLostError(409, "lease_lost", "the job was paused")

                    result = await engine.attempt(directories[directory_id], business, fence=fence)
                    results[site] = (result, seen)
            finally:
                await browser.close()
        return results

    return asyncio.run(run())


def test_a_refused_fence_means_the_form_is_never_sent(db_url: str, tmp_path: Path) -> None:
    business = _business(db_url)
    with SandboxServer(Settings()) as sandbox:
        results = _attempts(tmp_path, sandbox.url, business, refuse=True)
        assert httpx.get(f"{sandbox.url}/_admin/submissions").json() == []
    for site, (result, seen) in results.items():
        assert result.error_code == "not_submitted", (site, result)
        assert seen == [0], site  # the fence was asked, once, right before the submit
        assert result.outcome is Outcome.transient_error, (site, result)
        assert result.error_code == "not_submitted", (site, result)
        assert result.message is not None
        assert "was not sent" in result.message


def test_the_fence_comes_right_before_the_submit(db_url: str, tmp_path: Path) -> None:
    business = _business(db_url)
    with SandboxServer(Settings()) as sandbox:
        results = _attempts(tmp_path, sandbox.url, business, refuse=False)
        accepted = httpx.get(f"{sandbox.url}/_admin/submissions").json()
    assert sorted(s["site"] for s in accepted) == sorted(SITES.values())
    for site, (result, seen) in results.items():
        assert seen == [0], site  # fenced once, before the site had the business
        assert result.outcome is Outcome.success, (site, result)
        assert result.confirmed, (site, result)
