"""One canary round: ask the orchestrator which directories to dry run, dry run each in one
browser (a fresh context each, as every attempt), report each run back through the
orchestrator, and say what happened in words staff can act on. The worker never reaches the
database: the list and the verdicts are the orchestrator's (orchestrator/routers/canary.py)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
from playwright.async_api import async_playwright

from dbolt.canary import CanaryDirectory, CanaryVerdict
from dbolt.orchestrator_client import raise_for_answer
from dbolt.words import count_of
from worker.addresses import DestinationPolicy, parse_allow_list
from worker.browser_launch import launch_options
from worker.canary.dry_run import DryRun, dry_run
from worker.settings import WorkerSettings


@dataclass
class Checked:
    directory: CanaryDirectory
    run: DryRun
    verdict: CanaryVerdict

    def line(self) -> str:
        """One directory's result, as staff read it."""
        run, verdict = self.run, self.verdict
        if run.failed_step is not None:
            said = f"FAILED at {run.failed_step}: {run.error}"
        elif verdict.baseline_stored:
            said = "ok, first signature stored as its baseline"
        elif verdict.ok:
            said = "ok, form unchanged"
        else:
            said = "FORM CHANGED: its signature differs from the baseline"
        if verdict.newly_drifted:
            said += "; now out of new jobs until staff re-verify"
            if verdict.jobs_skipped:
                said += f" ({count_of(verdict.jobs_skipped, 'job')} given a replacement)"
        elif verdict.drifted and not verdict.ok:
            said += "; still out of new jobs (drifted before)"
        elif verdict.drifted:
            said += "; still out of new jobs until staff re-verify"
        if run.not_sent:
            said += f"; {count_of(len(run.not_sent), 'request')} held back, nothing sent"
        return f"  {self.directory.directory_id:<28} {run.seconds:5.1f} s  {said}"


@dataclass
class Round:
    checked: list[Checked] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def drifted(self) -> list[Checked]:
        return [c for c in self.checked if not c.verdict.ok]

    def summary(self) -> str:
        newly = sum(c.verdict.newly_drifted for c in self.checked)
        stored = sum(c.verdict.baseline_stored for c in self.checked)
        return (
            f"canary round: {count_of(len(self.checked), 'directory')} "
            f"in {self.seconds:.1f} s; {len(self.checked) - len(self.drifted)} ok "
            f"({count_of(stored, 'baseline')} stored), {len(self.drifted)} failed or changed "
            f"({newly} newly out of new jobs)"
        )


async def run_round(
    settings: WorkerSettings,
    only: set[str] | None = None,
    say: Callable[[str], None] = print,
) -> Round:
    started = time.monotonic()
    result = Round()
    policy = DestinationPolicy(parse_allow_list(settings.worker_allowed_private_hosts))
    token = settings.worker_token.get_secret_value()
    async with httpx.AsyncClient(
        base_url=settings.orchestrator_url,
        headers={"Authorization": f"Bearer {token}"},
        timeout=10.0,
    ) as http:
        response = await http.get("/canary/directories")
        raise_for_answer(response)
        directories = [CanaryDirectory.model_validate(item) for item in response.json()]
        if only is not None:
            directories = [d for d in directories if d.directory_id in only]
        say(f"canary: dry running {count_of(len(directories), 'directory')}")
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(**launch_options(settings))
            try:
                for directory in directories:
                    run = await dry_run(
                        browser,
                        directory,
                        policy,
                        settings.navigation_timeout_ms,
                        settings.step_timeout_ms,
                    )
                    answer = await http.post(
                        f"/canary-runs/{directory.directory_id}",
                        content=run.report().model_dump_json(),
                        headers={"Content-Type": "application/json"},
                    )
                    raise_for_answer(answer)
                    checked = Checked(directory, run, CanaryVerdict.model_validate(answer.json()))
                    result.checked.append(checked)
                    say(checked.line())
            finally:
                await browser.close()
    result.seconds = time.monotonic() - started
    say(result.summary())
    return result
