"""A run that lost, doubled or left unconfirmed a submission measured nothing: these checks
decide whether a run may be reported at all."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import httpx

from bench.worker.queue_db import Attempt
from bench.worker.sites import Business
from dbolt.words import count_of

Pair = tuple[str, str]  # (site, business name)


class RunRefused(SystemExit):
    """Raised with every problem found; exits the benchmark without a report."""


def expected_pairs(businesses: Sequence[Business], sites: Sequence[str]) -> Counter[Pair]:
    return Counter((site, business.name) for business in businesses for site in sites)


def _differences(what: str, seen: Counter[Pair], expected: Counter[Pair]) -> list[str]:
    problems = []
    missing = expected - seen
    extra = seen - expected
    doubled = [pair for pair, count in seen.items() if count > 1]
    if missing:
        problems.append(f"{what}: {sum(missing.values())} missing, e.g. {next(iter(missing))}")
    if extra:
        problems.append(f"{what}: {sum(extra.values())} unexpected, e.g. {next(iter(extra))}")
    if doubled:
        problems.append(f"{what}: {len(doubled)} recorded more than once, e.g. {doubled[0]}")
    return problems


def sandbox_submissions(sandbox_url: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{sandbox_url}/_admin/submissions", timeout=10)
    response.raise_for_status()
    body: list[dict[str, Any]] = response.json()
    return body


def reset_sandbox(sandbox_url: str) -> None:
    httpx.post(f"{sandbox_url}/_admin/reset", timeout=10).raise_for_status()


def check_sandbox(sandbox_url: str, expected: Counter[Pair]) -> list[str]:
    """The sandbox listed every (site, business) of the run exactly once, and nothing else."""
    submissions = sandbox_submissions(sandbox_url)
    seen = Counter((str(s["site"]), str(s["fields"].get("business_name"))) for s in submissions)
    problems = _differences("sandbox", seen, expected)
    unlisted = [s for s in submissions if s["status"] != "listed"]
    if unlisted:
        problems.append(f"sandbox: {len(unlisted)} submissions not listed")
    return problems


def check_worker(
    attempts: Sequence[Attempt], statuses: dict[str, int], expected: Counter[Pair]
) -> list[str]:
    """Every attempt a confirmed success, one per (site, business); every job complete and
    every directory submitted. A retry would mean a submission the clock paid twice for."""
    problems = []
    failed = [a for a in attempts if a.outcome != "success" or not a.confirmed]
    if failed:
        first = failed[0]
        problems.append(
            f"worker: {count_of(len(failed), 'attempt')} not confirmed successes, "
            f"e.g. {first.site} / "
            f"{first.business_name}: {first.outcome} {first.error_code} {first.message}"
        )
    confirmed = Counter(
        (a.site, a.business_name) for a in attempts if a.outcome == "success" and a.confirmed
    )
    problems += _differences("worker reports", confirmed, expected)
    jobs = len({name for _, name in expected})
    wanted = {"job complete": jobs, "directory submitted": sum(expected.values())}
    if statuses != wanted:
        problems.append(f"worker: queue states {statuses}, expected {wanted}")
    return problems


def refuse_unless_clean(what: str, problems: Sequence[str]) -> None:
    if problems:
        raise RunRefused(
            f"refusing to report: the {what} run is not clean:\n  " + "\n  ".join(problems)
        )
