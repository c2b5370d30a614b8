"""The staff scout page in real Chromium at phone width (390 px), against the portal
(uvicorn), the Auth stand-in, a real orchestrator and the devstack sandbox: staff type the
sandbox's login-walled page, the page shows the scout queued and refreshes itself; a real
`python -m worker scouts --once` process takes it through the orchestrator and scouts it in
Chromium; the page then names the login wall, lists the form's fields and the draft, shows
the screenshot; staff save it as a disabled entry and are shown the directories.json entry,
then open the directory's own page. axe-core finds nothing serious and nothing scrolls
sideways.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from playwright.sync_api import Browser, Page, expect

from devstack import localdb
from devstack.sandbox import Settings as SandboxSettings
from devstack.sandbox.server import SandboxServer
from tests.support.browser import (
    PHONE_WIDE,
    assert_fits_width,
    axe_violations,
    chromium,
    signed_in_context,
)
from tests.support.orchestrator_harness import WORKER_TOKEN
from tests.support.staff_stack import STAFF_EMAIL, StaffStack, staff_stack


@pytest.fixture(scope="module")
def sandbox() -> Iterator[str]:
    with SandboxServer(SandboxSettings()) as server:
        yield server.url


@pytest.fixture(scope="module")
def stack(cluster: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[StaffStack]:
    db_url = localdb.fresh(f"pytest_{os.getpid()}_staff_scout")
    artifacts = tmp_path_factory.mktemp("artifacts")
    with staff_stack(db_url, artifacts, http_server=True) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser: Browser, stack: StaffStack) -> Iterator[Page]:
    context = signed_in_context(browser, stack.portal_url, stack.staff_token(), PHONE_WIDE)
    yield context.new_page()
    context.close()


def _checked(page: Page) -> None:
    assert not axe_violations(page), (page.url, axe_violations(page))
    assert_fits_width(page)


def _worker_once(stack: StaffStack, sandbox: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {
        "ENVIRONMENT": "development",
        "ORCHESTRATOR_URL": stack.orchestrator_url,
        "WORKER_TOKEN": WORKER_TOKEN,
        "WORKER_ID": "scout-e2e",
        "ARTIFACTS_DIR": str(stack.artifacts_dir),
        "WORKER_ALLOWED_PRIVATE_HOSTS": sandbox.split("://", 1)[1],
    }
    return subprocess.run(
        [sys.executable, "-m", "worker", "scouts", "--once"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
    )


def test_scout_a_login_walled_site_and_save_it_at_phone_width(
    page: Page, stack: StaffStack, sandbox: str
) -> None:
    response = page.goto(f"{stack.portal_url}/staff/scout")
    assert response is not None
    assert response.status == 200
    _checked(page)
    page.get_by_label("Page to scout").fill(f"{sandbox}/login-wall/submit")
    page.get_by_role("button", name="Scout").click()
    page.wait_for_url("**/staff/scout/*")
    expect(page.locator("#scout")).to_have_attribute("data-status", "queued")
    expect(page.locator("#scout-status")).to_contain_text("waiting for a worker")
    _checked(page)

    worker = _worker_once(stack, sandbox)
    assert worker.returncode == 0, worker.stderr
    # The page refreshes itself while it waits: no reload by the test.
    expect(page.locator("#scout")).to_have_attribute("data-status", "done", timeout=15_000)
    expect(page.locator("#scout-walls")).to_contain_text("a login wall")
    expect(page.locator("#scout-captcha")).to_contain_text("no captcha seen")
    expect(page.locator("#scout-fields tr[data-field]").first).to_be_visible()
    expect(page.locator("#scout-recipe")).to_contain_text('"action": "goto"')
    shot = page.locator("#scout-shots img").first
    expect(shot).to_be_visible()
    shot.scroll_into_view_if_needed()  # loading="lazy": it loads once near the screen
    page.wait_for_function(
        "() => { const img = document.querySelector('#scout-shots img');"
        " return img.complete && img.naturalWidth > 0; }"
    )
    _checked(page)

    page.get_by_label("Id").fill("login-wall-scouted")
    page.get_by_label("Name").fill("Login wall (scouted)")
    page.get_by_label("Tier").select_option("starter")
    page.get_by_label("Country (2 letters, empty for any)").fill("US")
    page.get_by_role("button", name="Save as a disabled entry").click()
    expect(page.locator("#scout-saved")).to_contain_text("Saved as login-wall-scouted, disabled")
    expect(page.locator("#scout-entry-json")).to_contain_text('"id": "login-wall-scouted"')
    expect(page.locator("#scout-entry-json")).to_contain_text('"enabled": false')
    _checked(page)

    page.get_by_role("link", name="login-wall-scouted").click()
    page.wait_for_url("**/staff/directories/login-wall-scouted")
    expect(page.locator("#directory")).to_have_attribute("data-state", "disabled")
    expect(page.locator("#directory-notes")).to_contain_text("by staff on ")
    expect(page.locator("#directory-notes")).not_to_contain_text(STAFF_EMAIL)
    _checked(page)

    with psycopg.connect(stack.db_url) as conn:
        row = conn.execute(
            "select enabled, mode from directories where id = 'login-wall-scouted'"
        ).fetchone()
    assert row == (False, "recipe")
