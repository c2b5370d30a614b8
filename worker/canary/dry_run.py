"""One directory's dry run: open its submit page in the worker's browser, through the
attempt's egress guard, run the recipe's steps up to but never including `submit` with a
fixed sample business, and read the page's form signature (worker/scout/signature.py).

Never submitting is held three ways, as the scout holds it: the steps stop before the first
`submit` (and `expect`, which only reads the answer to one); a captcha is looked for but never
solved (a solve costs money and says nothing about the form) and a logo is never uploaded;
and the browser context is read-only (worker/read_only.py): no request but GET or HEAD, and
once a page has loaded no navigation but the recipe's gotos, no request with a query string
or to a form's action, no WebSocket — so even a "Next" that sends the form, with any method,
sends nothing (the refused requests are listed).

A selector the page no longer has, a page that does not load, a destination the egress guard
refuses: each is a failed step, named by its number in the recipe as staff read it.
"""

from __future__ import annotations

import contextlib
import re
import time
from dataclasses import dataclass, field
from typing import Any

from playwright.async_api import Browser, Page, Response
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeout

from dbolt.canary import CanaryDirectory, CanaryReport
from dbolt.contracts import Outcome
from dbolt.form_signatures import signature_digest
from worker.addresses import DestinationPolicy
from worker.egress_guard import EgressGuard
from worker.outcome import AttemptFailed, AttemptResult
from worker.read_only import ReadOnlyRoute
from worker.recipe import (
    Captcha,
    Expect,
    Goto,
    PhaseSteps,
    Recipe,
    RecipeError,
    Step,
    Submit,
    Upload,
    WaitFor,
    parse_recipe,
)
from worker.recipe_runner import SITEKEY_SELECTORS, RecipeContext, run_recipe
from worker.request_blocking import block_requests
from worker.scout.run import DRY_RUN_BUSINESS, FORM_WAIT_MS, ScoutFailed, ScoutRefused, check_url
from worker.scout.signature import page_signature

# Typed into a sign-up form only to walk it; never sent (see above).
_DRY_RUN_ACCOUNT = {
    "account_login": "canary-dry-run@directorybolt.invalid",
    "account_password": "canary-dry-run-never-sent",
}
_STEP_NUMBER = re.compile(r"\bstep (\d+)\b")


@dataclass
class DryRun:
    """What one dry run found, before it is reported."""

    directory_id: str
    signatures: list[dict[str, Any]] = field(default_factory=list)
    failed_step: str | None = None
    error: str | None = None
    not_sent: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def signature(self) -> dict[str, Any] | None:
        # One page (nearly every recipe): its signature as the scout records it, so the
        # digest is the one in directories/signatures/. Several: all of them, in order.
        if not self.signatures:
            return None
        return self.signatures[0] if len(self.signatures) == 1 else {"pages": self.signatures}

    def report(self) -> CanaryReport:
        signature = self.signature
        return CanaryReport(
            directory_id=self.directory_id,
            signature=signature,
            digest=signature_digest(signature) if signature is not None else None,
            failed_step=self.failed_step,
            error=self.error and self.error[:2000],
        )


def _describe(step: Step) -> str:
    target = getattr(step, "selector", None) or getattr(step, "url", None)
    if isinstance(step, Captcha):
        target = step.image or step.sitekey_selector or SITEKEY_SELECTORS[step.kind]
    return f"{step.action} {target}" if target else step.action


def dry_steps(steps: list[Step]) -> list[tuple[int, Step]]:
    """The steps a dry run takes, each with its number in the recipe: everything before the
    first submit; a captcha becomes a look for its widget; uploads are left out."""
    kept: list[tuple[int, Step]] = []
    for number, step in enumerate(steps, start=1):
        if isinstance(step, Submit):
            break
        if isinstance(step, Expect | Upload):
            continue
        if isinstance(step, Captcha):
            widget = step.image or step.sitekey_selector or SITEKEY_SELECTORS[step.kind]
            step = WaitFor(action="wait_for", selector=widget)
        kept.append((number, step))
    return kept


def _phase_to_walk(recipe: Recipe) -> tuple[str, PhaseSteps] | None:
    """A lifecycle recipe: the first form a visitor without an account reaches (sign-up, or
    the submit form of a site that needs no login), with the phase's name."""
    assert recipe.phases is not None
    if recipe.phases.signup is not None:
        return "signup", recipe.phases.signup
    if recipe.phases.login is None and recipe.phases.submit is not None:
        return "submit", recipe.phases.submit
    return None


def _goto_urls(directory: CanaryDirectory, steps: list[Step]) -> set[str]:
    """The URLs the recipe's gotos open (as worker/recipe_runner.py fills them in)."""
    urls = {
        "submit_url": directory.submit_url or directory.homepage,
        "homepage": directory.homepage,
    }
    opened = set()
    for step in steps:
        if isinstance(step, Goto):
            # A URL of a value the dry run has not: the runner fails that step anyway.
            with contextlib.suppress(KeyError):
                opened.add(step.url.format_map(urls))
    return opened


async def _settle(page: Page) -> None:
    """Let scripts build the form before it is read; a page that never does is read as is."""
    for wait in (
        page.wait_for_load_state("load"),
        page.wait_for_selector("form, input, select, textarea, iframe", timeout=FORM_WAIT_MS),
    ):
        with contextlib.suppress(PlaywrightTimeout):
            await wait


async def dry_run(
    browser: Browser,
    directory: CanaryDirectory,
    policy: DestinationPolicy,
    navigation_timeout_ms: int,
    step_timeout_ms: int,
) -> DryRun:
    started = time.monotonic()
    found = DryRun(directory.directory_id)
    try:
        await _dry_run(browser, directory, policy, navigation_timeout_ms, step_timeout_ms, found)
    finally:
        found.seconds = time.monotonic() - started
    return found


async def _dry_run(
    browser: Browser,
    directory: CanaryDirectory,
    policy: DestinationPolicy,
    navigation_timeout_ms: int,
    step_timeout_ms: int,
    found: DryRun,
) -> None:
    try:
        recipe = parse_recipe(directory.recipe) if directory.mode == "recipe" else None
    except RecipeError as error:
        found.failed_step, found.error = "the recipe", str(error)
        return
    phase = ""
    if recipe is not None and recipe.phases is not None:
        walked = _phase_to_walk(recipe)
        if walked is None:
            found.failed_step = "the recipe"
            found.error = "no form reachable without an account (a login phase comes first)"
            return
        phase = f"{walked[0]} phase "
        steps, frame = dry_steps(list(walked[1].steps)), walked[1].frame
    elif recipe is not None:
        steps, frame = dry_steps(list(recipe.steps or [])), recipe.frame
    else:
        # The generic filler: the submit page's signature is the whole dry run.
        steps, frame = dry_steps([Goto(action="goto")]), None

    first_url = directory.submit_url or directory.homepage
    try:
        await check_url(first_url, policy)
    except (ScoutRefused, ScoutFailed) as refused:
        found.failed_step = (
            f"{phase}step 1 ({_describe(steps[0][1])})" if steps else "the submit page"
        )
        found.error = str(refused)
        return

    guard = await EgressGuard(policy).start()
    context = await browser.new_context(proxy=guard.playwright())  # type: ignore[arg-type]
    try:
        context.set_default_timeout(step_timeout_ms)
        context.set_default_navigation_timeout(navigation_timeout_ms)
        await block_requests(context, recipe.block if recipe is not None else [])

        # The recipe's own gotos stay allowed once the first page has loaded.
        read_only = ReadOnlyRoute(_goto_urls(directory, [step for _, step in steps]))
        found.not_sent = read_only.not_sent
        await read_only.install(context)
        page = await context.new_page()

        async def read_signature(response: Response | None) -> None:
            await _settle(page)
            # Before the steps fill or click anything on this page: nothing typed goes out.
            await read_only.loaded(page)
            found.signatures.append(await page_signature(page, response))

        ctx = RecipeContext(
            page,
            DRY_RUN_BUSINESS,
            directory.model_dump(),
            None,
            step_timeout_ms,
            AttemptResult(Outcome.success),
            lambda _: None,
            values=dict(_DRY_RUN_ACCOUNT),
            on_page=read_signature,
        )
        try:
            await run_recipe(
                ctx, PhaseSteps(steps=[step for _, step in steps], frame=frame), classify=False
            )
            if recipe is None and not any(s["forms"] for s in found.signatures):
                found.failed_step, found.error = "the submit page", "no form on the page"
        except (AttemptFailed, PlaywrightError, RecipeError) as error:
            index = max(ctx.step, 1) - 1
            number, step = steps[min(index, len(steps) - 1)]
            found.failed_step = f"{phase}step {number} ({_describe(step)})"
            message = error.message if isinstance(error, AttemptFailed) else str(error)
            # The runner numbers the dry run's own list; say the recipe's number instead.
            found.error = _STEP_NUMBER.sub(f"step {number}", message.splitlines()[0], count=1)
            if guard.blocked:
                found.error += f" (egress guard refused {guard.blocked[0]})"
    finally:
        await context.close()
        await guard.close()
