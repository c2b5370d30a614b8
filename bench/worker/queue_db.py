"""The worker side's database: a fresh clone of the migrated template with only the benchmark's
sandbox sites enabled, starter jobs enqueued by the real SQL functions, and what the worker
reported, read back for the clock, the progress lines and the verification."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

from bench import common
from bench.worker.sites import Business
from bench.worker.stack import ROOT
from dbolt.directories import load_directories, sync_directories
from dbolt.words import count_of

DATABASE = "dbolt_bench_worker"
# The base URL the sandbox entries of directories.json are written for.
SANDBOX_DEFAULT = "http://127.0.0.1:8400"

# The seed's complete sample business under a name (and public email) of its own, so every
# job's submissions are told apart at the sandbox. The same address signs in: a site only
# ever receives the public one.
ENQUEUE_SQL = """
select (jobs_enqueue(order_id => dev.create_paid_order(
          email => %(email)s::text, tier => 'starter',
          business => dev.sample_business()
            || jsonb_build_object('business_name', %(name)s::text, 'public_email', %(email)s::text)
        ))).id
"""
DIRECTORIES_PER_JOB_SQL = """
select count(*) from job_directories where job_id = any(%(jobs)s) group by job_id
"""
PROGRESS_SQL = """
select (select count(*) from job_results
         where job_id = any(%(jobs)s) and outcome = 'success' and confirmed) as confirmed,
       (select count(*) from jobs where id = any(%(jobs)s) and status = 'complete') as complete,
       (select extract(epoch from min(started_at)) from jobs
         where id = any(%(jobs)s)) as first_claim
"""
# The clock: from the first claim to the last report, both stamped by Postgres.
WINDOW_SQL = """
select extract(epoch from (select min(started_at) from jobs where id = any(%(jobs)s))),
       extract(epoch from (select max(reported_at) from job_results where job_id = any(%(jobs)s)))
"""
ATTEMPTS_SQL = """
select r.directory_id, r.outcome::text, r.confirmed, r.error_code, r.message, r.duration_ms,
       j.business_snapshot ->> 'business_name' as business_name
  from job_results r join jobs j on j.id = r.job_id
 where r.job_id = any(%(jobs)s)
"""
STATUSES_SQL = """
select 'job ' || status::text, count(*) from jobs where id = any(%(jobs)s) group by status
union all
select 'directory ' || status::text, count(*) from job_directories
 where job_id = any(%(jobs)s) group by status
"""


def sandbox_entries(sandbox_url: str, sites: Sequence[str]) -> list[dict[str, Any]]:
    """directories.json's entries for these sandbox sites, pointed at this run's sandbox."""
    document = {"version": 1, "directories": load_directories(ROOT / "directories.json")}
    text = json.dumps(document).replace(SANDBOX_DEFAULT, sandbox_url)
    by_id = {entry["id"]: entry for entry in json.loads(text)["directories"]}
    missing = [site for site in sites if f"sandbox-{site}" not in by_id]
    if missing:
        raise SystemExit(f"directories.json has no sandbox entry for: {', '.join(missing)}")
    return [by_id[f"sandbox-{site}"] for site in sites]


def prepare(sandbox_url: str, sites: Sequence[str]) -> str:
    """A fresh database where a starter job gets exactly these sites, with no cap in the way."""
    url = common.fresh_migrated(DATABASE)
    with psycopg.connect(url, autocommit=True) as conn:
        # Every directory not listed is disabled, so a starter job takes these and only these.
        sync_directories(conn, sandbox_entries(sandbox_url, sites))
        conn.execute("update tiers set max_running = %s", (common.UNCAPPED_RUNNING,))
    return url


def enqueue(url: str, businesses: Sequence[Business], sites_per_job: int) -> list[str]:
    """One paid starter order and its job per business; refuses if a job got other sites."""
    with psycopg.connect(url, autocommit=True) as conn:
        jobs = []
        for business in businesses:
            row = conn.execute(ENQUEUE_SQL, {"email": business.email, "name": business.name})
            jobs.append(str(row.fetchone()[0]))  # type: ignore[index]
        counts = [row[0] for row in conn.execute(DIRECTORIES_PER_JOB_SQL, {"jobs": jobs})]
        # Statistics for the freshly filled tables: the queue functions then plan with them.
        conn.execute("analyze jobs, job_directories")
    if counts != [sites_per_job] * len(jobs):
        raise SystemExit(
            f"expected {count_of(sites_per_job, 'directory')} per job, got {sorted(counts)}"
        )
    return jobs


@dataclass(frozen=True)
class Progress:
    confirmed: int
    complete: int
    first_claim: float | None


def progress(conn: psycopg.Connection[Any], jobs: Sequence[str]) -> Progress:
    """On a connection kept open by the caller: a new one per poll would cost Postgres a
    backend start each time, CPU the worker side would be charged for."""
    row = conn.execute(PROGRESS_SQL, {"jobs": list(jobs)}).fetchone()
    assert row is not None
    return Progress(int(row[0]), int(row[1]), None if row[2] is None else float(row[2]))


def window(url: str, jobs: Sequence[str]) -> tuple[float, float]:
    with psycopg.connect(url) as conn:
        row = conn.execute(WINDOW_SQL, {"jobs": list(jobs)}).fetchone()
    if row is None or row[0] is None or row[1] is None:
        raise RuntimeError("no claim or no report recorded")
    return float(row[0]), float(row[1])


@dataclass(frozen=True)
class Attempt:
    site: str
    business_name: str
    outcome: str
    confirmed: bool
    error_code: str | None
    message: str | None
    duration_ms: int | None


def attempts(url: str, jobs: Sequence[str]) -> list[Attempt]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(ATTEMPTS_SQL, {"jobs": list(jobs)}).fetchall()
    return [
        Attempt(
            site=str(directory).removeprefix("sandbox-"),
            business_name=str(name),
            outcome=str(outcome),
            confirmed=bool(confirmed),
            error_code=error_code,
            message=message,
            duration_ms=duration_ms,
        )
        for directory, outcome, confirmed, error_code, message, duration_ms, name in rows
    ]


def statuses(url: str, jobs: Sequence[str]) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(STATUSES_SQL, {"jobs": list(jobs)}).fetchall()
    return {str(name): int(count) for name, count in rows}
