"""Many real claimer processes against one real database: every job completes exactly once,
no lease is ever held twice, and no tier ever runs more jobs than its cap."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import psycopg
import pytest

from dbolt.sql import Queries
from tests.support.queue_helpers import enable_test_directories, set_tier_caps

ROOT = Path(__file__).resolve().parents[2]
CLAIMERS = 16
JOBS_PER_TIER = {"starter": 200, "growth": 150, "professional": 100, "enterprise": 50}
CAPS = {"starter": 3, "growth": 2, "professional": 2, "enterprise": 1}


def _enqueue_many(conn: psycopg.Connection[Any]) -> None:
    for tier, count in JOBS_PER_TIER.items():
        conn.execute(
            """
            select jobs_enqueue(dev.create_paid_order(
                     format('%%s-%%s@example.com', %(tier)s::text, n), %(tier)s::text))
              from generate_series(1, %(count)s) as n
            """,
            {"tier": tier, "count": count},
        )


class RunningSampler(threading.Thread):
    """Samples in-progress jobs per tier as fast as it can while the claimers run."""

    def __init__(self, db_url: str) -> None:
        super().__init__(daemon=True)
        self.db_url = db_url
        self.stop = threading.Event()
        self.samples = 0
        self.peak: Counter[str] = Counter()
        self.violations: list[tuple[str, int]] = []

    def run(self) -> None:
        with psycopg.connect(self.db_url, autocommit=True) as conn:
            while not self.stop.is_set():
                rows = conn.execute(
                    "select tier, count(*) from jobs where status = 'in_progress' group by tier"
                ).fetchall()
                self.samples += 1
                for tier, running in rows:
                    self.peak[tier] = max(self.peak[tier], running)
                    if running > CAPS[tier]:
                        self.violations.append((tier, running))


@pytest.mark.slow
def test_sixteen_claimers_complete_every_job_once_within_tier_caps(
    db_url: str, conn: psycopg.Connection[Any], queries: Queries
) -> None:
    enable_test_directories(conn, 2)
    set_tier_caps(conn, CAPS)
    _enqueue_many(conn)
    total_jobs = sum(JOBS_PER_TIER.values())

    sampler = RunningSampler(db_url)
    sampler.start()
    claimers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.support.queue_claimer", db_url, f"claimer-{n}", str(n)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(CLAIMERS)
    ]
    events: list[dict[str, Any]] = []
    for claimer in claimers:
        out, err = claimer.communicate(timeout=240)
        assert claimer.returncode == 0, err
        events.extend(json.loads(line) for line in out.splitlines())
    sampler.stop.set()
    sampler.join()

    # The cap held at every sampled instant, and the sampler really saw the queue busy.
    assert sampler.violations == []
    assert sampler.samples > 50
    assert sampler.peak["starter"] >= 2

    # Every job completed exactly once, by the holder of a lease nobody else ever got.
    claims = [e for e in events if e["event"] == "claimed"]
    completions = Counter(e["job_id"] for e in events if e["event"] == "completed")
    assert len(completions) == total_jobs
    assert set(completions.values()) == {1}
    assert len({c["lease_token"] for c in claims}) == len(claims)
    assert any(e["event"] == "released" for e in events), "the release path was exercised"

    # A job's lease periods never overlap: claim, end, claim, end … per job, in the order the
    # database applied them (audit ids; client clocks cannot order events across processes).
    timeline: dict[str, list[str]] = defaultdict(list)
    for job_id, action in conn.execute(
        "select job_id, action from audit_log"
        " where action in ('job.claimed', 'job.released', 'job.completed') order by id"
    ).fetchall():
        timeline[str(job_id)].append("claimed" if action == "job.claimed" else "ended")
    assert len(timeline) == total_jobs
    for job_id, holds in timeline.items():
        assert holds == ["claimed", "ended"] * (len(holds) // 2), (job_id, holds)
    assert sum(holds.count("claimed") for holds in timeline.values()) == len(claims)

    # The database agrees: all complete, each directory submitted once, slots all returned.
    assert conn.execute("select status, count(*) from jobs group by status").fetchall() == [
        ("complete", total_jobs)
    ]
    attempts = conn.execute(
        "select count(*), count(distinct (job_id, directory_id)) from job_results"
    ).fetchone()
    assert attempts == (total_jobs * 2, total_jobs * 2)
    assert conn.execute("select sum(running) from tiers").fetchone() == (0,)
    audit = conn.execute("select count(*) from audit_log where action = 'job.completed'").fetchone()
    assert audit == (total_jobs,)
    # The audit stays complete under contention (its rows are written inline now,
    # 20261208000700): exactly one row per attempt, naming the same job, directory and try.
    unmatched = conn.execute(
        "select count(*) from job_results r full join"
        " (select * from audit_log where action = 'directory.attempt_reported') a"
        " on a.job_id = r.job_id and a.directory_id = r.directory_id"
        " and (a.details ->> 'attempt')::int = r.attempt"
        " where r.id is null or a.id is null"
    ).fetchone()
    assert unmatched == (0,)
    # Every claim counted on its worker's row, however many claimers raced.
    claimed = conn.execute("select sum(jobs_claimed) from workers").fetchone()
    assert claimed == (len(claims),)


def test_claimers_wait_for_a_slot_rather_than_overshoot(
    db_url: str, conn: psycopg.Connection[Any], queries: Queries
) -> None:
    """Racing claimers on a tier with one free slot: exactly one wins, however many ask."""
    enable_test_directories(conn, 1)
    set_tier_caps(conn, {"starter": 1})
    conn.execute(
        "select jobs_enqueue(dev.create_paid_order(format('race-%%s@example.com', n), 'starter'))"
        " from generate_series(1, 20) as n"
    )
    barrier = threading.Barrier(12)
    won: list[Any] = []

    def claim(worker: int) -> None:
        with psycopg.connect(db_url, autocommit=True) as own:
            barrier.wait()
            job = queries.fetch_one(own, "jobs_next", worker_id=f"w{worker}", lease_seconds=60)
            if job is not None:
                won.append(job["id"])

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1
    assert conn.execute("select running from tiers where name = 'starter'").fetchone() == (1,)
