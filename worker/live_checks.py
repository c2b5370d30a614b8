"""Live checks: open a listing some time after it was handed over and say whether it is up
with the business's own name, address and phone (docs/state-machine.md, live checks).

Plain HTTP first (httpx, no browser: most listing pages are server-rendered), through an
egress guard like every browser context's, so a listing URL (or a redirect from it) cannot
reach the worker's own network (worker/addresses.py). A recipe whose `live_check` phase says
`"browser": true` (a page that renders its listing with scripts), or names selectors beyond
the simple subset worker/listing_page.py reads, is opened in the worker's Chromium instead.

What the result means is decided here, the same for both ways of reading the page:
- 404 / 410, or a page without the business's name → not_found;
- 5xx, 429, other refusals, timeouts, blocked destinations → error (retried later);
- the name found, a field shown differently → live_mismatch naming the fields;
- otherwise live, with the NAP match score (a field the page does not show lowers it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any

import httpx
from playwright.async_api import Browser
from playwright.async_api import Error as PlaywrightError

from dbolt.contracts import LiveCheckReport, LiveCheckResult, LiveCheckTask
from dbolt.nap import NAP_FIELDS, NapMatch, compare, compare_text
from dbolt.orchestrator_client import OrchestratorClient, OrchestratorError
from worker import listing_page
from worker.addresses import DestinationPolicy
from worker.egress_guard import BLOCKED_HEADER, EgressGuard

log = logging.getLogger(__name__)

MAX_PAGE_BYTES = 2 * 1024 * 1024
USER_AGENT = "Mozilla/5.0 (compatible; DirectoryBolt listing check)"
_NOT_FOUND = {404, 410}
_BLOCKED = "the listing URL leads to an address workers may not reach"


@dataclass(frozen=True)
class Page:
    status: int
    html: str


class CheckFailed(Exception):
    """The page could not be read this time (the check is retried later)."""

    def __init__(self, message: str, http_status: int | None = None) -> None:
        super().__init__(message)
        self.http_status = http_status


def _selectors(recipe: dict[str, Any] | None) -> dict[str, str]:
    return {
        name: str(value)
        for name, value in (recipe or {}).items()
        if name in NAP_FIELDS and isinstance(value, str) and value.strip()
    }


def needs_browser(recipe: dict[str, Any] | None) -> bool:
    """The recipe says the page needs scripts, or names selectors plain HTML parsing can't."""
    return bool((recipe or {}).get("browser") is True) or not listing_page.supported(
        _selectors(recipe)
    )


def judge(task: LiveCheckTask, page: Page) -> LiveCheckReport:
    """What a fetched page says about the listing."""
    if page.status in _NOT_FOUND:
        return _report(task, LiveCheckResult.not_found, message=f"HTTP {page.status}", page=page)
    if page.status >= 400:
        return _report(task, LiveCheckResult.error, message=f"HTTP {page.status}", page=page)
    selectors = _selectors(task.recipe)
    reading = listing_page.read(page.html, selectors)
    business = task.business
    match: NapMatch
    if selectors:
        match = compare(business, reading.fields)
        observed = reading.fields
    else:
        match = compare_text(business, reading.text)
        observed = {}
    if "name" in match.missing:
        return _report(
            task,
            LiveCheckResult.not_found,
            score=match.score,
            message="the page does not show the business's name",
            page=page,
            observed=observed,
        )
    if match.mismatched:
        return _report(
            task,
            LiveCheckResult.live_mismatch,
            score=match.score,
            fields=match.mismatched,
            message=f"the listing shows a different {', '.join(match.mismatched)}",
            page=page,
            observed=observed,
        )
    missing = f"; not shown: {', '.join(match.missing)}" if match.missing else ""
    return _report(
        task,
        LiveCheckResult.live,
        score=match.score,
        message=f"the listing is up{missing}",
        page=page,
        observed=observed,
    )


def _report(
    task: LiveCheckTask,
    result: LiveCheckResult,
    *,
    score: float | None = None,
    fields: list[str] | None = None,
    message: str | None = None,
    page: Page | None = None,
    observed: dict[str, str] | None = None,
) -> LiveCheckReport:
    return LiveCheckReport(
        lease_token=task.lease_token,
        result=result,
        nap_score=score,
        mismatched_fields=fields or [],
        observed={k: v[:2000] for k, v in (observed or {}).items()},
        message=message[:2000] if message else None,
        http_status=page.status if page else None,
    )


@dataclass
class LiveChecker:
    """Reads listing pages. One egress guard per check: what it blocked is that check's."""

    destinations: DestinationPolicy
    timeout_seconds: float = 15.0
    browser: Browser | None = None

    async def check(self, task: LiveCheckTask) -> LiveCheckReport:
        """Never raises for a site's behaviour: a page that cannot be read is an error."""
        guard = await EgressGuard(self.destinations).start()
        try:
            # One deadline for the whole check: httpx's timeout is per read, so a page that
            # trickles a byte at a time would otherwise hold this worker's checks (and, once
            # its lease ran out, the next worker's) for ever.
            async with asyncio.timeout(self.timeout_seconds * 2):
                if self.browser is not None and needs_browser(task.recipe):
                    page = await self._browser_page(task.listing_url, guard)
                else:
                    page = await self._http_page(task.listing_url, guard)
        except TimeoutError:
            return LiveCheckReport(
                lease_token=task.lease_token,
                result=LiveCheckResult.error,
                message=f"the page did not load within {self.timeout_seconds * 2:g} s",
            )
        except CheckFailed as failed:
            blocked = "; ".join(guard.blocked[:3])
            return LiveCheckReport(
                lease_token=task.lease_token,
                result=LiveCheckResult.error,
                message=(blocked or str(failed))[:2000],
                http_status=failed.http_status,
            )
        finally:
            await guard.close()
        return judge(task, page)

    async def _http_page(self, url: str, guard: EgressGuard) -> Page:
        # trust_env=False: only the guard, never an HTTP(S)_PROXY from the environment.
        async with httpx.AsyncClient(
            proxy=f"http://127.0.0.1:{guard.port}",
            trust_env=False,
            follow_redirects=True,
            max_redirects=5,
            timeout=self.timeout_seconds,
            headers={"User-Agent": USER_AGENT, "Accept": "text/html,*/*;q=0.5"},
        ) as http:
            try:
                async with http.stream("GET", url) as response:
                    if response.headers.get(BLOCKED_HEADER) == "blocked":
                        raise CheckFailed(_BLOCKED)
                    if "proxy-status" in response.headers:
                        raise CheckFailed(
                            f"the site could not be reached ({response.headers['proxy-status']})",
                            response.status_code,
                        )
                    body = bytearray()
                    async for chunk in response.aiter_bytes():
                        body += chunk
                        if len(body) > MAX_PAGE_BYTES:
                            break
                    encoding = response.encoding or "utf-8"
                    return Page(response.status_code, body.decode(encoding, errors="replace"))
            except httpx.TooManyRedirects as error:
                raise CheckFailed(f"too many redirects: {error}") from error
            except httpx.HTTPError as error:
                raise CheckFailed(f"{type(error).__name__}: {error}") from error

    async def _browser_page(self, url: str, guard: EgressGuard) -> Page:
        assert self.browser is not None
        context = await self.browser.new_context(proxy=guard.playwright())  # type: ignore[arg-type]
        try:
            page = await context.new_page()
            response = await page.goto(url, timeout=self.timeout_seconds * 1000)
            with contextlib.suppress(PlaywrightError):
                await page.wait_for_load_state("networkidle", timeout=5000)
            if guard.blocked:
                raise CheckFailed(_BLOCKED)
            status = response.status if response is not None else 200
            return Page(status, await page.content())
        except PlaywrightError as error:
            first_line = str(error).splitlines()[0] if str(error) else "browser error"
            raise CheckFailed(first_line) from error
        finally:
            await context.close()


async def run_checks(
    client: OrchestratorClient, checker: LiveChecker, worker_id: str, batch: int
) -> int:
    """Claim up to `batch` due checks, make and report each; how many were claimed."""
    tasks = await client.claim_live_checks(worker_id, batch)
    for task in tasks:
        report = await checker.check(task)
        try:
            await client.report_live_check(task.check_id, report)
        except OrchestratorError as error:
            # A lost lease (another worker took the check after ours expired) or a refused
            # report: the check is someone else's now; nothing to resend.
            log.warning(
                "live check report refused",
                extra={
                    "action": "live_check.refused",
                    "check_id": task.check_id,
                    "error": str(error),
                },
            )
            continue
        log.info(
            "live check made",
            extra={
                "action": "live_check.reported",
                "check_id": task.check_id,
                "directory_id": task.directory_id,
                "result": report.result.value,
            },
        )
    return len(tasks)


async def live_check_loop(
    client: OrchestratorClient,
    checker: LiveChecker,
    worker_id: str,
    stopping: asyncio.Event,
    interval_seconds: float,
    batch: int = 5,
) -> None:
    """Check due listings beside the job loop until `stopping` is set.

    A background loop: it catches, logs and continues, so an unreachable orchestrator or a
    bug in one round never stops live checks for the rest of the process's life."""
    while not stopping.is_set():
        claimed = 0
        try:
            claimed = await run_checks(client, checker, worker_id, batch)
        except asyncio.CancelledError:
            raise
        except (httpx.TransportError, OrchestratorError) as error:
            log.warning(
                "live checks: orchestrator unreachable",
                extra={"action": "live_check.claim_failed", "error": str(error)},
            )
        except Exception:
            log.exception("live check round failed", extra={"action": "live_check.failed"})
        if claimed >= batch:
            continue  # more may be due: no pause
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), timeout=interval_seconds)
