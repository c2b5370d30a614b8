"""The phase runner (worker/phases.py) in the real SubmissionEngine, with Chromium, against
the sandbox's lifecycle directories and a real mail catcher: already listed, claim, sign-up
parked for the email (its session saved), resumed with the mail, moderation, the wrong phone
and the mail that never comes.

The orchestrator's account and session routes are stood in for by a recorder (the end-to-end
through real services is tests/e2e of the whole stack); everything else is real: the browser,
the sandbox over HTTP, the verification email over SMTP, read back from the catcher's API."""

from __future__ import annotations

import asyncio
import copy
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.async_api import async_playwright

from dbolt.business import Business
from dbolt.contracts import DirectoryAccount, InboundMail, Outcome, Phase, Resume, WaitKind
from dbolt.directories import load_directories
from devstack.mailcatcher import MailCatcher
from devstack.sandbox import Settings
from devstack.sandbox.server import SandboxServer
from tests.support.e2e_stack import ROOT, SANDBOX_DEFAULT
from tests.support.ports import free_port
from tests.support.sample_business import as_a_directory_lists_it, sample_business
from worker.addresses import DestinationPolicy, parse_allow_list
from worker.engine import EngineSettings, SubmissionEngine
from worker.outcome import AttemptResult

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/lib/chromium/chromium"
PASSWORD = "Zq7-test-only-Pa55word-9xK"  # the recorder's throwaway password
MODERATION_SECONDS = 3.0
BUSINESS = Business.model_validate(
    sample_business(description="A neighbourhood bakery baking sourdough and pastries since 2009.")
)
# What the sandbox's admin API seeds: the business as a directory shows it.
SEEN = as_a_directory_lists_it()


@dataclass
class Recorder:
    """Stands in for the orchestrator's account and session routes (JobRunner's adapter)."""

    login: str
    created: bool = True
    accounts: int = 0
    sessions: list[dict[str, Any]] = field(default_factory=list)

    async def open_account(self) -> DirectoryAccount:
        self.accounts += 1
        created, self.created = self.created, False  # opened once, then reused
        return DirectoryAccount(
            login=self.login, password=PASSWORD, site_url="http://x.example/", created=created
        )

    async def save_session(self, storage_state: dict[str, Any]) -> None:
        self.sessions.append(storage_state)


@dataclass
class Stack:
    sandbox: str
    mail: str
    tmp: Path

    def admin(self, site: str) -> dict[str, Any]:
        found: dict[str, Any] = httpx.get(
            f"{self.sandbox}/_admin/lifecycle", params={"site": site}
        ).json()
        return found

    def seed(self, site: str, **changes: str) -> dict[str, Any]:
        response = httpx.post(
            f"{self.sandbox}/_admin/lifecycle/listings",
            json={"site": site, "fields": SEEN | changes},
        )
        response.raise_for_status()
        seeded: dict[str, Any] = response.json()
        return seeded

    def directory(self, site: str) -> dict[str, Any]:
        text = json.dumps(load_directories(ROOT / "directories.json"))
        entries = json.loads(text.replace(SANDBOX_DEFAULT, self.sandbox))
        [entry] = [e for e in entries if e["id"] == site]
        return dict(entry, directory_id=site)

    def mail_to(self, address: str) -> InboundMail:
        """The directory's email, as the mail catcher received it over SMTP."""
        listed = httpx.get(f"{self.mail}/api/messages", params={"to": address}).json()
        assert listed["total"] == 1, listed
        detail = httpx.get(f"{self.mail}/api/messages/{listed['messages'][0]['id']}").json()
        return InboundMail(
            id=1,
            sender=detail["from"],
            recipient=address,
            subject=detail["subject"],
            text=detail["text"] or "",
            html=detail["html"] or "",
            received_at=datetime.now(UTC),
        )


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with MailCatcher(smtp_port=free_port()) as catcher:
        settings = Settings(smtp_url=catcher.smtp_url, moderation_seconds=MODERATION_SECONDS)
        with SandboxServer(settings) as sandbox:
            yield Stack(sandbox.url, catcher.http_url, tmp_path_factory.mktemp("phases"))


@dataclass
class Run:
    result: AttemptResult
    said: list[str]
    fenced: int


def attempt(
    stack: Stack,
    directory: dict[str, Any],
    recorder: Recorder,
    resume: Resume | None = None,
) -> Run:
    settings = EngineSettings(5000, 5000, stack.tmp / "artifacts")
    settings.destinations = DestinationPolicy(parse_allow_list(urlsplit(stack.sandbox).netloc))
    if resume is not None:
        directory = directory | {"resume": resume.model_dump(mode="json")}
    said: list[str] = []
    fenced = [0]

    async def fence() -> None:
        fenced[0] += 1

    async def run() -> AttemptResult:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM)
            try:
                engine = SubmissionEngine(browser, None, settings)
                return await engine.attempt(
                    directory,
                    BUSINESS,
                    artifact_name=f"{directory['directory_id']}-{time.monotonic_ns()}",
                    say=said.append,
                    fence=fence,
                    lifecycle=recorder,
                )
            finally:
                await browser.close()

    run_result = Run(asyncio.run(run()), said, fenced[0])
    # The account's password is never said, reported or kept in an artifact.
    reported = json.dumps(run_result.result.reported(), default=str)
    assert PASSWORD not in reported
    assert not [line for line in said if PASSWORD in line]
    for path in (stack.tmp / "artifacts").rglob("*"):
        if path.is_file():
            assert PASSWORD.encode() not in path.read_bytes(), path
    return run_result


def parked_for_email(stack: Stack, site: str, recorder: Recorder) -> Run:
    run = attempt(stack, stack.directory(site), recorder)
    result = run.result
    assert result.outcome is Outcome.parked, result
    assert (result.wait_kind, result.wait_seconds, result.resume_phase) == (
        WaitKind.email,
        48 * 3600,
        Phase.verify_email,
    )
    assert result.reported()["wait_kind"] == "email"
    assert len(recorder.sessions) == 1
    assert "cookies" in recorder.sessions[0]
    assert run.fenced == 0
    [account] = stack.admin(site)["accounts"]
    assert account == account | {"email": recorder.login, "verified": False}
    assert result.artifacts == {}  # a wait is no failure: nothing kept
    return run


def resume_with_mail(stack: Stack, site: str, recorder: Recorder) -> Run:
    mail = stack.mail_to(recorder.login)
    resume = Resume(phase=Phase.verify_email, storage_state=recorder.sessions[-1], mail=mail)
    return attempt(stack, stack.directory(site), recorder, resume)


def test_a_listing_with_the_same_details_is_already_listed(stack: Stack) -> None:
    site = "lifecycle-listed"
    seeded = stack.seed(site)
    recorder = Recorder("listed@mail.directorybolt.example")
    run = attempt(stack, stack.directory(site), recorder)
    assert run.result.outcome is Outcome.already_listed, run.result
    assert run.result.listing_url == f"{stack.sandbox}/{site}/listing/{seeded['id']}"
    # Nothing submitted, no account opened, nothing fenced.
    assert (recorder.accounts, run.fenced) == (0, 0)
    assert [listing["id"] for listing in stack.admin(site)["listings"]] == [seeded["id"]]
    assert stack.admin(site)["accounts"] == []


def test_a_listing_with_another_phone_needs_the_customer_without_a_claim_phase(
    stack: Stack,
) -> None:
    site = "lifecycle-listed"
    # The listing with the same details (the test above) is gone: only the other phone.
    httpx.post(f"{stack.sandbox}/_admin/reset").raise_for_status()
    stack.seed(site, phone="(217) 555-0999")
    directory = stack.directory(site)
    directory["recipe"] = copy.deepcopy(directory["recipe"])
    del directory["recipe"]["phases"]["claim"]
    recorder = Recorder("differs@mail.directorybolt.example")
    run = attempt(stack, directory, recorder)
    result = run.result
    assert result.outcome is Outcome.needs_action, result
    assert result.action_required == (
        "Sandbox: Known Names Directory already lists your business with a different phone "
        "number. Our team will ask it to correct the listing; tell us if that listing is "
        "not yours."
    )
    # Staff read what the site shows against what the customer gave.
    assert result.message is not None
    assert "'(217) 555-0999'" in result.message
    assert "'+12175550123'" in result.message
    assert recorder.accounts == 0


def test_a_listing_with_another_phone_is_claimed_after_signup_and_verification(
    stack: Stack,
) -> None:
    site = "lifecycle-claim"
    seeded = stack.seed(site, phone="(217) 555-0999")
    recorder = Recorder("claim@mail.directorybolt.example")
    parked_for_email(stack, site, recorder)
    run = resume_with_mail(stack, site, recorder)
    assert run.result.outcome is Outcome.success, run.result
    assert run.result.confirmed
    assert run.result.listing_url == f"{stack.sandbox}/{site}/listing/{seeded['id']}"
    assert run.fenced == 1  # the claim is the one fenced action
    [listing] = stack.admin(site)["listings"]
    assert listing["claimed_by"] == recorder.login
    assert listing["fields"]["phone"] == "(217) 555-0123"  # the business's, after the claim
    [account] = stack.admin(site)["accounts"]
    assert account["verified"] is True


def test_signup_parks_for_the_email_and_the_mail_resumes_it_to_a_listing(stack: Stack) -> None:
    site = "lifecycle-verify"
    recorder = Recorder("bluebird@mail.directorybolt.example")
    parked = parked_for_email(stack, site, recorder)
    assert any("(the account's password)" in line for line in parked.said)
    run = resume_with_mail(stack, site, recorder)
    result = run.result
    assert result.outcome is Outcome.success, result
    assert result.confirmed
    assert result.listing_url is not None
    assert result.listing_url.startswith(f"{stack.sandbox}/{site}/listing/")
    assert run.fenced == 1
    assert recorder.accounts == 2  # opened at signup, reused at login
    state = stack.admin(site)
    assert [a["verified"] for a in state["accounts"]] == [True]
    # Created once, by our account.
    assert [listing["created_by"] for listing in state["listings"]] == [recorder.login]


def test_moderation_parks_at_confirm_and_the_saved_session_reads_the_listing_later(
    stack: Stack,
) -> None:
    site = "lifecycle-moderated"
    recorder = Recorder("moderated@mail.directorybolt.example")
    parked_for_email(stack, site, recorder)
    run = resume_with_mail(stack, site, recorder)
    result = run.result
    assert result.outcome is Outcome.parked, result
    assert (result.wait_kind, result.wait_seconds, result.resume_phase) == (
        WaitKind.moderation,
        60,
        Phase.confirm,
    )
    assert len(recorder.sessions) == 2
    time.sleep(MODERATION_SECONDS)
    # A new browser context with the saved session: signed in, nothing submitted again.
    later = attempt(
        stack,
        stack.directory(site),
        recorder,
        Resume(phase=Phase.confirm, storage_state=recorder.sessions[-1]),
    )
    assert later.result.outcome is Outcome.success, later.result
    assert later.result.confirmed
    assert later.result.listing_url is not None
    assert later.result.listing_url.startswith(f"{stack.sandbox}/{site}/listing/")
    assert later.fenced == 0
    assert len(stack.admin(site)["listings"]) == 1


def test_the_wrong_phone_site_is_submitted_and_shows_another_number(stack: Stack) -> None:
    site = "lifecycle-wrong-phone"
    recorder = Recorder("typo@mail.directorybolt.example")
    parked_for_email(stack, site, recorder)
    run = resume_with_mail(stack, site, recorder)
    assert run.result.outcome is Outcome.success, run.result
    assert run.result.listing_url is not None
    page = httpx.get(run.result.listing_url).text
    assert '<p class="listing-phone">(217) 555-0124</p>' in page


def test_the_mail_that_never_comes_leaves_the_directory_parked(stack: Stack) -> None:
    site = "lifecycle-no-mail"
    recorder = Recorder("silent@mail.directorybolt.example")
    parked_for_email(stack, site, recorder)
    listed = httpx.get(f"{stack.mail}/api/messages", params={"to": recorder.login}).json()
    assert listed["total"] == 0


def test_a_failure_after_the_password_was_typed_keeps_artifacts_without_it(
    stack: Stack,
) -> None:
    # Our own listing from an earlier test would be found by the lookup: start afresh.
    httpx.post(f"{stack.sandbox}/_admin/reset").raise_for_status()
    site = "lifecycle-verify"
    directory = stack.directory(site)
    directory["recipe"] = copy.deepcopy(directory["recipe"])
    login = directory["recipe"]["phases"]["login"]["steps"]
    # The page never shows what the recipe waits for, right after the password was typed.
    login[3] = {"action": "wait_for", "selector": "#never-there", "timeout_ms": 500}
    recorder = Recorder("artifacts@mail.directorybolt.example", created=False)
    run = attempt(stack, directory, recorder)
    assert run.result.outcome is Outcome.transient_error, run.result
    # Kept for staff (and searched for the password by attempt()).
    assert set(run.result.artifacts) == {"screenshot", "html"}
    assert Path(run.result.artifacts["html"]).exists()
    assert 'type="password"' in Path(run.result.artifacts["html"]).read_text()


def test_the_password_is_never_typed_into_a_visible_field(stack: Stack) -> None:
    # Our own listing from an earlier test would be found by the lookup: start afresh.
    httpx.post(f"{stack.sandbox}/_admin/reset").raise_for_status()
    site = "lifecycle-verify"
    directory = stack.directory(site)
    directory["recipe"] = copy.deepcopy(directory["recipe"])
    login = directory["recipe"]["phases"]["login"]["steps"]
    login[2] = {"action": "fill", "selector": "#login-email", "value": "account_password"}
    recorder = Recorder("drifted@mail.directorybolt.example", created=False)
    run = attempt(stack, directory, recorder)
    assert run.result.outcome is Outcome.permanent_error, run.result
    assert run.result.error_code == "recipe_drift"
    assert run.result.message is not None
    assert "password goes only into a password field" in run.result.message


def test_a_failure_quoting_the_password_reports_it_hidden(stack: Stack) -> None:
    """A failure's message is written by the engine after the phase runner ran; when it
    quotes what the page or a selector held (here a selector naming the password, as a
    drifted recipe could), the password is still hidden."""
    httpx.post(f"{stack.sandbox}/_admin/reset").raise_for_status()
    directory = stack.directory("lifecycle-verify")
    directory["recipe"] = copy.deepcopy(directory["recipe"])
    login = directory["recipe"]["phases"]["login"]["steps"]
    login[3] = {"action": "click", "selector": f"text={PASSWORD}"}
    recorder = Recorder("quoted@mail.directorybolt.example", created=False)
    run = attempt(stack, directory, recorder)
    assert run.result.error_code == "recipe_drift", run.result
    assert run.result.message is not None
    assert PASSWORD not in run.result.message
    assert "[hidden]" in run.result.message
