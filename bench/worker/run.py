"""One configuration, one side: the real worker process against the orchestrator, or the bare
loop, each timed, sampled and verified."""

from __future__ import annotations

import json
import select
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import psycopg

from bench.worker import queue_db, sampler, sites, stack, verify
from bench.worker.results import BARE, BEFORE, WORKER, SideResult
from bench.worker.stack import Service
from dbolt.words import count_of

PROGRESS_EVERY_SECONDS = 5.0
POLL_SECONDS = 0.5


@dataclass(frozen=True)
class Plan:
    sites: tuple[str, ...]
    jobs: int  # businesses per configuration and side; each goes to every site
    chromium: str
    headless_shell: str
    run_dir: Path
    timeout_seconds: float
    sample_interval: float
    # What the BEFORE side runs: "full" (BROWSER_LEAN=false, the full browser) or "lean"
    # (the headless shell without the memory flags: an A/B of just those).
    before: str = "full"

    @property
    def submissions(self) -> int:
        return self.jobs * len(self.sites)


@dataclass(frozen=True)
class Stack:
    database_url: str
    sandbox: Service
    orchestrator: Service
    # The orchestrator's pool connections: their CPU is part of what orchestration costs.
    postgres_pids: Sequence[int]
    worker_token: str

    @property
    def sandbox_url(self) -> str:
        assert self.sandbox.base_url is not None
        return self.sandbox.base_url


def browser_env(lean: bool, before: str) -> dict[str, str]:
    """The worker as it runs (`lean`), or as it was before: the full browser with the older
    flags (`before="full"`), or the lean browser without the memory flags (`"lean"`)."""
    if lean:
        return {"BROWSER_LEAN": "true", "BROWSER_NETWORK_IN_PROCESS": "true"}
    if before == "lean":
        return {"BROWSER_LEAN": "true", "BROWSER_NETWORK_IN_PROCESS": "false"}
    return {"BROWSER_LEAN": "false"}


def worker_settings(plan: Plan, running: Stack, contexts: int, lean: bool) -> dict[str, str]:
    assert running.orchestrator.base_url is not None
    sandbox = urlsplit(running.sandbox_url)
    return {
        "WORKER_ID": f"bench-worker-c{contexts}",
        "ORCHESTRATOR_URL": running.orchestrator.base_url,
        "WORKER_TOKEN": running.worker_token,
        "CONTEXTS": str(contexts),
        "CHROMIUM_PATH": plan.chromium,
        "HEADLESS_SHELL_PATH": plan.headless_shell,
        **browser_env(lean, plan.before),
        # No Realtime here: the worker polls. Jobs are queued before it starts and it claims
        # the next one as soon as one ends, so the poll interval only matters when idle.
        "POLL_MIN_SECONDS": "0.1",
        "POLL_MAX_SECONDS": "0.5",
        "ARTIFACTS_DIR": str(plan.run_dir / "artifacts"),
        # The sandbox is on loopback, which the egress guard refuses unless listed.
        "WORKER_ALLOWED_PRIVATE_HOSTS": f"{sandbox.hostname}:{sandbox.port}",
    }


def _slug(label: str) -> str:
    return label.lower().replace(" ", "-")


def _say_progress(label: str, confirmed: int, total: int, since: float | None) -> None:
    elapsed = time.time() - since if since is not None else 0.0
    rate = f", {confirmed / elapsed * 60:.1f}/min so far" if elapsed > 0 else ""
    print(f"    {label}: {confirmed}/{total} confirmed{rate}", flush=True)


def _check_worker_alive(
    worker: Service, progress: queue_db.Progress, jobs: int, deadline: float
) -> None:
    if worker.process.poll() is not None:
        raise RuntimeError(
            f"the worker exited with {worker.process.returncode}:\n{worker.log_tail()}"
        )
    if time.monotonic() > deadline:
        raise RuntimeError(
            f"the worker finished only {progress.complete} of {count_of(jobs, 'job')} in time:\n"
            + worker.log_tail()
        )


def _wait_for_jobs(plan: Plan, running: Stack, worker: Service, jobs: list[str]) -> None:
    deadline = time.monotonic() + plan.timeout_seconds
    next_line = time.monotonic() + PROGRESS_EVERY_SECONDS
    with psycopg.connect(running.database_url, autocommit=True) as conn:
        while (progress := queue_db.progress(conn, jobs)).complete < len(jobs):
            _check_worker_alive(worker, progress, len(jobs), deadline)
            if time.monotonic() >= next_line:
                _say_progress(
                    worker.name, progress.confirmed, plan.submissions, progress.first_claim
                )
                next_line += PROGRESS_EVERY_SECONDS
            time.sleep(POLL_SECONDS)


def run_worker(
    plan: Plan, running: Stack, contexts: int, label: str, lean: bool = True
) -> SideResult:
    """`label` names this run's businesses (and its log), different in every round; `lean`
    False runs the worker as it was before its browser savings (the BEFORE side)."""
    verify.reset_sandbox(running.sandbox_url)
    businesses = sites.businesses(label, plan.jobs)
    jobs = queue_db.enqueue(running.database_url, businesses, len(plan.sites))
    others = {
        "orchestrator": [running.orchestrator.pid],
        "postgres": running.postgres_pids,
        "sandbox": [running.sandbox.pid],
    }
    settings = worker_settings(plan, running, contexts, lean)
    with (
        stack.running(_slug(label), ["-m", "worker"], settings, plan.run_dir) as worker,
        sampler.Sampler(worker.pid, others, plan.sample_interval) as samples,
    ):
        _wait_for_jobs(plan, running, worker, jobs)
        start, end = queue_db.window(running.database_url, jobs)
        samples.wait_for_sample_after(end)
    attempts = queue_db.attempts(running.database_url, jobs)
    expected = verify.expected_pairs(businesses, plan.sites)
    statuses = queue_db.statuses(running.database_url, jobs)
    problems = verify.check_worker(attempts, statuses, expected)
    problems += verify.check_sandbox(running.sandbox_url, expected)
    side = WORKER if lean else BEFORE
    verify.refuse_unless_clean(f"{label} ({side}, {count_of(contexts, 'context')})", problems)
    by_site: dict[str, list[float]] = {}
    for attempt in attempts:
        by_site.setdefault(attempt.site, []).append((attempt.duration_ms or 0) / 1000)
    usage = sampler.summarise(samples.samples, start, end)
    return SideResult(side, contexts, len(attempts), end - start, usage, by_site)


def _read_result_line(bare: Service, timeout: float) -> str:
    stdout = bare.process.stdout
    assert stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if bare.process.poll() is not None:
            raise RuntimeError(f"the bare loop exited with {bare.process.returncode}")
        readable, _, _ = select.select([stdout], [], [], POLL_SECONDS)
        if readable:
            return stdout.readline().decode()
    raise RuntimeError(f"the bare loop did not finish within {timeout:.0f} s")


def run_bare(plan: Plan, running: Stack, contexts: int, label: str) -> SideResult:
    """`label` names this run's businesses (and its log), different in every round."""
    verify.reset_sandbox(running.sandbox_url)
    businesses = sites.businesses(label, plan.jobs)
    args = [
        *("-m", "bench.worker.bare", "--sandbox", running.sandbox_url),
        *("--contexts", str(contexts), "--businesses", str(plan.jobs), "--label", label),
        *("--sites", ",".join(plan.sites), "--chromium", plan.chromium),
    ]
    others = {"sandbox": [running.sandbox.pid]}
    with (
        stack.running(_slug(label), args, {}, plan.run_dir, pipes=True) as bare,
        sampler.Sampler(bare.pid, others, plan.sample_interval) as samples,
    ):
        result = json.loads(_read_result_line(bare, plan.timeout_seconds))
        samples.wait_for_sample_after(result["ended_at"])
        assert bare.process.stdin is not None
        bare.process.stdin.write(b"\n")
        bare.process.stdin.flush()
        bare.process.wait(timeout=stack.STOP_TIMEOUT_SECONDS)
    problems = [f"bare: {failure}" for failure in result["failures"]]
    if result["confirmed"] != plan.submissions:
        problems.append(f"bare: {result['confirmed']} of {plan.submissions} confirmed")
    expected = verify.expected_pairs(businesses, plan.sites)
    problems += verify.check_sandbox(running.sandbox_url, expected)
    verify.refuse_unless_clean(f"{label} (bare loop, {count_of(contexts, 'context')})", problems)
    start, end = float(result["started_at"]), float(result["ended_at"])
    usage = sampler.summarise(samples.samples, start, end)
    by_site = {site: list(seconds) for site, seconds in result["seconds"].items()}
    return SideResult(BARE, contexts, int(result["confirmed"]), end - start, usage, by_site)
