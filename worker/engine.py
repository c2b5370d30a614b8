"""One submission attempt: a fresh browser context (its own cookies, storage and proxy),
the recipe or the generic filler, a classified result, and artifacts for every
non-success."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, BrowserContext
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeout

from dbolt.business import Business
from dbolt.contracts import Outcome, Resume
from worker.addresses import DestinationPolicy, parse_allow_list
from worker.auto_filler import run_auto
from worker.captcha import CaptchaSolver
from worker.customer_action import customer_action
from worker.egress_guard import EgressGuard
from worker.eligibility import refusal
from worker.logo import LogoSource
from worker.outcome import AttemptFailed, AttemptResult
from worker.phases import Lifecycle, run_phases, scrub
from worker.proxies import Proxy
from worker.recipe import RecipeError, parse_recipe
from worker.recipe_runner import RecipeContext, run_recipe
from worker.request_blocking import block_requests
from worker.settings import WorkerSettings

log = logging.getLogger(__name__)

_PROXY_ERRORS = re.compile(r"ERR_PROXY|ERR_TUNNEL|ERR_NO_SUPPORTED_PROXIES|ERR_MANDATORY_PROXY")
_REFUSED = re.compile(r"ERR_CONNECTION_REFUSED|ERR_NAME_NOT_RESOLVED|ERR_ADDRESS_UNREACHABLE")
_RESET = re.compile(r"ERR_CONNECTION_(RESET|CLOSED|ABORTED)|ERR_EMPTY_RESPONSE|ERR_TIMED_OUT")


@dataclass
class EngineSettings:
    navigation_timeout_ms: int = 15_000
    step_timeout_ms: int = 8_000
    artifacts_dir: Path = Path(".local/artifacts")
    # Where the browser may go beyond public addresses (WORKER_ALLOWED_PRIVATE_HOSTS).
    destinations: DestinationPolicy = field(default_factory=DestinationPolicy)
    # The only place logos come from (PORTAL_URL); None: uploads go without a logo.
    logos: LogoSource | None = None

    @classmethod
    def from_worker(cls, settings: WorkerSettings) -> EngineSettings:
        return cls(
            settings.navigation_timeout_ms,
            settings.step_timeout_ms,
            settings.artifacts_dir,
            DestinationPolicy(parse_allow_list(settings.worker_allowed_private_hosts)),
            LogoSource(settings.portal_url, settings.logo_max_bytes),
        )


def _browser_error(error: PlaywrightError, proxy: Proxy | None) -> AttemptFailed:
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    if _PROXY_ERRORS.search(text) or (proxy is not None and _RESET.search(text)):
        return AttemptFailed(Outcome.transient_error, "proxy_error", text)
    if _REFUSED.search(text):
        return AttemptFailed(Outcome.permanent_error, "site_down", text)
    if _RESET.search(text):
        return AttemptFailed(Outcome.transient_error, "connection_error", text)
    return AttemptFailed(Outcome.transient_error, "browser_error", text)


def _report_blocked(result: AttemptResult, blocked: list[str]) -> None:
    """A site that sent the browser to a private address ends the attempt, saying where.

    Whatever the page did after a refused request (a form gone, a selector missing, a
    tunnel error) follows from the refusal, so the refusal is what is reported; only a
    confirmed success stands, with the refusal noted."""
    if not blocked:
        return
    what = "; ".join(blocked[:3]) + (f" (and {len(blocked) - 3} more)" if len(blocked) > 3 else "")
    if result.outcome is Outcome.success and result.confirmed:
        result.message = f"{result.message + '; ' if result.message else ''}{what}"
        return
    result.outcome, result.error_code = Outcome.permanent_error, "blocked_destination"
    result.confirmed = False
    result.message = f"the site sent the browser to an address workers may not reach: {what}"


def _blocked_kinds(directory: dict[str, Any]) -> list[str]:
    """The recipe's `block` list; a malformed recipe blocks nothing and fails below, named."""
    if directory.get("mode") != "recipe" or not isinstance(directory.get("recipe"), dict):
        return []
    try:
        return list(parse_recipe(directory["recipe"]).block)
    except RecipeError:
        return []


class SubmissionEngine:
    def __init__(
        self, browser: Browser, solver: CaptchaSolver | None, settings: EngineSettings
    ) -> None:
        self.browser = browser
        self.solver = solver
        self.settings = settings

    async def _context(
        self, guard: EgressGuard, storage_state: dict[str, Any] | None = None
    ) -> BrowserContext:
        # Every request of the context goes through the attempt's egress guard, which
        # chains to the upstream proxy, if any (worker/egress_guard.py). A resumed directory
        # starts with the cookies and storage it was parked with (worker/phases.py).
        context = await self.browser.new_context(
            proxy=guard.playwright(),  # type: ignore[arg-type]
            storage_state=storage_state,  # type: ignore[arg-type]
        )
        context.set_default_timeout(self.settings.step_timeout_ms)
        context.set_default_navigation_timeout(self.settings.navigation_timeout_ms)
        return context

    async def attempt(
        self,
        directory: dict[str, Any],
        business: Business,
        proxy: Proxy | None = None,
        artifact_name: str = "attempt",
        say: Callable[[str], None] | None = None,
        fence: Callable[[], Awaitable[None]] | None = None,
        lifecycle: Lifecycle | None = None,
    ) -> AttemptResult:
        """Submit once and say truthfully what happened. Never raises for a site's behaviour."""
        refused = refusal(directory, business)
        if refused is not None:
            # Decided from the directory's declarations alone: no browser, no site visit.
            log.info(
                "directory cannot take the business",
                extra={
                    "action": "attempt.not_eligible",
                    "directory_id": directory.get("directory_id") or directory.get("id"),
                    "error_code": refused.error_code,
                },
            )
            (say or (lambda _: None))(f"  not attempted: {refused.message}")
            return refused
        result = AttemptResult(Outcome.success, proxy=proxy.label if proxy else None)
        started = time.monotonic()
        guard = await EgressGuard(self.settings.destinations, proxy).start()
        resume = Resume.model_validate(directory["resume"]) if directory.get("resume") else None
        context = await self._context(guard, resume.storage_state if resume else None)
        blocked_kinds = _blocked_kinds(directory)
        await block_requests(context, blocked_kinds)
        page = await context.new_page()
        ctx = RecipeContext(
            page,
            business,
            directory,
            self.solver,
            self.settings.step_timeout_ms,
            result,
            say or (lambda _: None),
            self.settings.logos,
            fence,
        )
        try:
            recipe = (
                parse_recipe(directory.get("recipe")) if directory.get("mode") == "recipe" else None
            )
            if recipe is not None and recipe.phases is not None:
                await run_phases(ctx, recipe.phases, lifecycle, resume)
            elif recipe is not None:
                await run_recipe(ctx, recipe)
            else:
                await run_auto(ctx)
        except AttemptFailed as failure:
            result.outcome, result.error_code, result.message = (
                failure.outcome,
                failure.error_code,
                failure.message,
            )
        except RecipeError as error:
            result.outcome, result.error_code, result.message = (
                Outcome.permanent_error,
                "recipe_invalid",
                str(error),
            )
        except PlaywrightTimeout as error:
            result.outcome, result.error_code = Outcome.transient_error, "timeout"
            result.message = str(error).splitlines()[0]
        except PlaywrightError as error:
            classified = _browser_error(error, proxy)
            result.outcome, result.error_code = classified.outcome, classified.error_code
            result.message = classified.message
        finally:
            _report_blocked(result, guard.blocked)
            # A failure's message (set above, after the phase runner's own scrub) can quote
            # the page, and a page can echo what was typed: hide the account password in both.
            scrub(ctx)
            if not (result.outcome is Outcome.success and result.confirmed) and (
                result.outcome not in (Outcome.parked, Outcome.already_listed)
            ):
                await self._keep_artifacts(
                    page, artifact_name, result, ctx.values.get("account_password")
                )
            await context.close()
            await guard.close()
        if result.outcome is Outcome.needs_action:
            result.action_required = customer_action(
                result.action_kind or "other",
                str(directory.get("name") or directory.get("directory_id") or "The directory"),
                business.public_email,
                business.phone,
                result.differing,
            )
        result.message = result.message and result.message[:1900]
        log.info(
            "attempt finished",
            extra={
                "action": "attempt.finished",
                "directory_id": directory.get("directory_id"),
                "outcome": result.outcome.value,
                "error_code": result.error_code,
                "seconds": round(time.monotonic() - started, 2),
            },
        )
        return result

    async def _keep_artifacts(
        self, page: Any, name: str, result: AttemptResult, secret: str | None = None
    ) -> None:
        """Screenshot and HTML of the last page, so staff can see what the worker saw."""
        directory = self.settings.artifacts_dir
        screenshot = directory / f"{name}.png"
        html = directory / f"{name}.html"
        try:
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            # A page still loading (a timeout) holds screenshots and scripts back until it
            # stops; Chromium's own "stop loading" works where window.stop() cannot run.
            cdp = await page.context.new_cdp_session(page)
            await asyncio.wait_for(cdp.send("Page.stopLoading"), 5)
            await cdp.detach()
            await asyncio.wait_for(page.screenshot(path=str(screenshot), full_page=True), 10)
            content = await asyncio.wait_for(page.content(), 10)
            html.write_text(content.replace(secret, "[hidden]") if secret else content)
            result.artifacts = {"screenshot": str(screenshot), "html": str(html)}
        except (PlaywrightError, OSError, TimeoutError) as error:
            # A page that never loaded has nothing to keep; the result says why anyway.
            log.info(
                "no artifacts", extra={"action": "attempt.no_artifacts", "error": str(error)[:200]}
            )
