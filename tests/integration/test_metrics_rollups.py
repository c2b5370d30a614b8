"""metrics_totals() reads counters the transitions keep (migration 20261208000100); after a
random history through the real functions (retries, reaps, pauses, resumes, cancels, refused
calls among them) they equal a recount from the raw tables; so do queue_stats()'s jobs by
status (migration 20261208000130) and the charts' rollups of attempts and completions per
bucket of 1, 6, 24 and 168 hours (migration 20261208001000), also after a fold and a recount."""

from __future__ import annotations

import random
import time
import uuid
from typing import Any

import psycopg
import pytest

from dbolt.sql import DomainError, Queries
from tests.support.queue_helpers import create_job, enable_test_directories, set_tier_caps

# metrics_totals()'s body before the counters (20261207000100): a count of the raw rows.
RECOUNT_SQL = """
select jsonb_build_object(
  'attempts_by_outcome', (
    select jsonb_object_agg(o.outcome, coalesce(c.n, 0))
      from unnest(enum_range(null::public.attempt_outcome)) as o(outcome)
      left join (select r.outcome, count(*) as n from public.job_results r group by r.outcome) c
        on c.outcome = o.outcome),
  'attempts_finished', (
    select jsonb_build_object(
             'succeeded', count(*) filter (
                where private.attempt_result(r.outcome, r.confirmed) = 'succeeded'),
             'failed', count(*) filter (
                where private.attempt_result(r.outcome, r.confirmed) = 'failed'))
      from public.job_results r),
  'retries', (select count(*) from public.job_results r where r.attempt > 1),
  'captchas_solved', (select count(*) from public.job_results r where r.captcha_solved),
  'captchas_failed', (select count(*) from public.job_results r
                       where r.captcha_kind is not null and r.captcha_solved is not true),
  'proxy_failures', (select count(*) from public.job_results r
                      where r.error_code = 'proxy_error'),
  'jobs_completed', (select count(*) from public.audit_log a where a.action = 'job.completed'))
"""

OUTCOMES: dict[str, dict[str, Any]] = {
    "success": {"confirmed": True, "listing_url": "https://listing.example/1"},
    "unconfirmed": {"outcome": "success", "confirmed": False},
    "transient_error": {"error_code": "timeout"},
    "proxy_error": {"outcome": "transient_error", "error_code": "proxy_error"},
    "permanent_error": {"error_code": "field_rejected", "message": "phone: too short"},
    "needs_action": {"action_required": "Click the link in the email"},
    "already_listed": {"listing_url": "https://listing.example/2"},
    "skipped": {},
}

Conn = psycopg.Connection[Any]


# queue_stats()'s jobs by status before the counters (20261206000220).
JOBS_RECOUNT_SQL = """
select jsonb_object_agg(s.status, coalesce(c.n, 0))
  from unnest(enum_range(null::public.job_status)) as s(status)
  left join (select j.status, count(*) as n from public.jobs j group by j.status) c
    on c.status = s.status
"""


# The charts' rollups, summed over their shards (all-zero buckets are left out in _rollups:
# a bucket whose rows were all moved away keeps a row of zeros), and the same buckets counted
# from the raw rows with this test's own definitions.
ROLLUPS_SQL = """
select bucket_hours, bucket, directory_id,
       array[sum(attempts), sum(outcome_success), sum(outcome_needs_action),
             sum(outcome_transient_error), sum(outcome_permanent_error), sum(outcome_skipped),
             sum(outcome_parked), sum(outcome_already_listed), sum(result_succeeded),
             sum(result_failed), sum(result_needs_review), sum(result_waiting), sum(retries),
             sum(captchas_solved), sum(captchas_failed), sum(proxy_failures)]::bigint[]
  from private.attempt_rollups
 group by 1, 2, 3
union all
select bucket_hours, bucket, null, array[sum(jobs_completed)]::bigint[]
  from private.job_completion_rollups
 group by 1, 2
union all
select 0, bucket, null,
       array[sum(attempts), sum(retries), sum(captchas), sum(captchas_solved),
             sum(captchas_failed), sum(proxied), sum(proxy_failures)]::bigint[]
  from private.attempt_minute_rollups
 where bucket >= now() - interval '24 hours'
 group by 1, 2
"""
ROLLUPS_RECOUNT_SQL = """
with sizes(hours) as (values (1), (6), (24), (168)),
rows as (
  select s.hours, date_bin(make_interval(hours => s.hours), r.reported_at,
                           timestamptz '2000-01-01 00:00:00+00') as bucket, r.*,
         case when r.outcome = 'success' and r.confirmed then 'succeeded'
              when r.outcome = 'already_listed' then 'succeeded'
              when r.outcome in ('transient_error', 'permanent_error') then 'failed'
              when r.outcome = 'success' then 'needs_review'
              when r.outcome in ('needs_action', 'parked') then 'waiting' end as result
    from public.job_results r, sizes s
)
select hours, bucket, coalesce(directory_id, ''),
       array[count(*), count(*) filter (where outcome = 'success'),
             count(*) filter (where outcome = 'needs_action'),
             count(*) filter (where outcome = 'transient_error'),
             count(*) filter (where outcome = 'permanent_error'),
             count(*) filter (where outcome = 'skipped'),
             count(*) filter (where outcome = 'parked'),
             count(*) filter (where outcome = 'already_listed'),
             count(*) filter (where result = 'succeeded'),
             count(*) filter (where result = 'failed'),
             count(*) filter (where result = 'needs_review'),
             count(*) filter (where result = 'waiting'), count(*) filter (where attempt > 1),
             count(*) filter (where captcha_solved),
             count(*) filter (where captcha_kind is not null and captcha_solved is not true),
             count(*) filter (where error_code = 'proxy_error')]::bigint[]
  from rows
 group by grouping sets ((hours, bucket, directory_id), (hours, bucket))
union all
select s.hours, date_bin(make_interval(hours => s.hours), j.completed_at,
                         timestamptz '2000-01-01 00:00:00+00'), null, array[count(*)]::bigint[]
  from public.jobs j, sizes s
 where j.completed_at is not null
 group by 1, 2
union all
-- The minute rollups (20261209000100), for the minutes their readers use: hours 0.
select 0, date_bin('1 minute', r.reported_at, timestamptz '2000-01-01 00:00:00+00'), null,
       array[count(*), count(*) filter (where attempt > 1),
             count(*) filter (where captcha_kind is not null),
             count(*) filter (where captcha_solved),
             count(*) filter (where captcha_kind is not null and captcha_solved is not true),
             count(*) filter (where proxy is not null or error_code = 'proxy_error'),
             count(*) filter (where error_code = 'proxy_error')]::bigint[]
  from public.job_results r
 where date_bin('1 minute', r.reported_at, timestamptz '2000-01-01 00:00:00+00')
       >= now() - interval '24 hours'
 group by 1, 2
"""


def _rollups(conn: Conn) -> tuple[set[tuple[Any, ...]], set[tuple[Any, ...]]]:
    """What the rollups say and what a recount of the raw rows says, bucket by bucket."""
    kept = {(*row[:3], tuple(row[3])) for row in conn.execute(ROLLUPS_SQL) if any(row[3])}
    counted = {(*row[:3], tuple(row[3])) for row in conn.execute(ROLLUPS_RECOUNT_SQL)}
    return kept, counted


def _totals(conn: Conn) -> tuple[Any, Any]:
    """What the counters say and what a recount says: metrics_totals() and the jobs by
    status in queue_stats()."""
    row = conn.execute(
        f"select metrics_totals() || jsonb_build_object('jobs', queue_stats() -> 'jobs'),"
        f" ({RECOUNT_SQL}) || jsonb_build_object('jobs', ({JOBS_RECOUNT_SQL}))"
    ).fetchone()
    assert row is not None
    return row[0], row[1]


class History:
    """Random steps through the real functions; a refused step (wrong state, lost lease) is
    part of the history too: it must leave the counters as it found them."""

    def __init__(self, conn: Conn, queries: Queries, seed: int) -> None:
        self.conn, self.q, self.rng = conn, queries, random.Random(seed)
        self.jobs: list[uuid.UUID] = []
        self.leases: dict[uuid.UUID, uuid.UUID] = {}

    def _call(self, name: str, **params: Any) -> Any:
        try:
            return self.q.fetch_one(self.conn, name, **params)
        except DomainError:
            return None

    def enqueue(self) -> None:
        self.jobs.append(create_job(self.conn, self.q))

    def claim(self) -> None:
        job = self._call("jobs_next", worker_id=f"w{self.rng.randint(1, 3)}", lease_seconds=60)
        if job:
            self.leases[job["id"]] = job["lease_token"]

    def report(self) -> None:
        if not self.leases:
            return
        job_id, lease = self.rng.choice(sorted(self.leases.items()))
        row = self.conn.execute(
            "select directory_id, attempts from job_directories where job_id = %s"
            " and status in ('queued', 'in_progress') order by random() limit 1",
            (job_id,),
        ).fetchone()
        if row is None:
            self._call("jobs_complete", job_id=job_id, lease_token=lease)
            return
        directory_id, attempts = row
        self._call(
            "jobs_start_directory", job_id=job_id, lease_token=lease, directory_id=directory_id
        )
        kind = self.rng.choice(sorted(OUTCOMES))
        fields = {"outcome": kind, "confirmed": False, **OUTCOMES[kind]}
        if self.rng.random() < 0.4:
            fields |= {"captcha_kind": "recaptcha", "captcha_solved": self.rng.random() < 0.5}
        report = {
            "directory_id": directory_id,
            "attempt": attempts + 1,
            "duration_ms": 900,
            **fields,
        }
        self._call(
            "jobs_report_attempt",
            job_id=job_id,
            lease_token=lease,
            report=psycopg.types.json.Jsonb(report),
        )

    def complete(self) -> None:
        if self.leases:
            job_id, lease = self.rng.choice(sorted(self.leases.items()))
            self._call("jobs_complete", job_id=job_id, lease_token=lease)

    def reap(self) -> None:
        if self.leases:
            job_id = self.rng.choice(sorted(self.leases))
            # Test setup only: moving the lease's clock is not something product code can do.
            self.conn.execute(
                "update jobs set lease_expires_at = now() - interval '1 second'"
                " where id = %s and status = 'in_progress'",
                (job_id,),
            )
            self._call("jobs_reap_expired", max_lost_leases=3)

    def staff(self) -> None:
        if not self.jobs:
            return
        job_id = self.rng.choice(self.jobs)
        action = self.rng.choice(["pause", "resume", "cancel", "retry", "retry"])
        if action == "retry":
            failed = [
                r[0]
                for r in self.conn.execute(
                    "select directory_id from job_directories"
                    " where job_id = %s and status = 'failed'",
                    (job_id,),
                ).fetchall()
            ]
            self._call("jobs_retry", job_id=job_id, directory_ids=failed, actor="staff:t")
        elif action == "resume":
            self._call("jobs_resume", job_id=job_id, actor="staff:t")
        else:
            self._call(f"jobs_{action}", job_id=job_id, actor="staff:t", reason="Test history")

    def step(self) -> None:
        steps = [
            self.enqueue,
            self.claim,
            self.report,
            self.report,
            self.report,
            self.report,
            self.complete,
            self.reap,
            self.staff,
        ]
        self.rng.choice(steps)()


@pytest.mark.parametrize("seed", [16, 1608])
def test_counters_equal_a_recount_after_a_random_history(
    conn: Conn, queries: Queries, seed: int
) -> None:
    enable_test_directories(conn, 4)
    set_tier_caps(conn, {"starter": 100})
    history = History(conn, queries, seed)
    for _ in range(3):
        history.enqueue()
    for _ in range(300):
        history.step()
        if history.rng.random() < 0.1:
            counters, recount = _totals(conn)
            assert counters == recount
            kept, counted = _rollups(conn)
            assert kept == counted
    counters, recount = _totals(conn)
    assert counters == recount
    kept, counted = _rollups(conn)
    assert kept == counted
    assert any(row[2] is None for row in counted), "some job completed"
    # The history was not vacuous: it holds every kind of event the counters must survive.
    actions = {a for (a,) in conn.execute("select distinct action from audit_log").fetchall()}
    assert {"job.completed", "job.lease_expired", "job.paused", "job.cancelled"} <= actions
    assert recount["retries"] > 0
    assert recount["captchas_failed"] > 0


def test_counters_follow_rows_changed_or_removed_and_other_connections_read_them(
    db_url: str, conn: Conn, queries: Queries
) -> None:
    """The counters are rows, not session state: another connection reads the same totals;
    rows changed or removed (a correction, a retention job) move them as a recount would."""
    enable_test_directories(conn, 2)
    set_tier_caps(conn, {"starter": 100})
    history = History(conn, queries, 7)
    for _ in range(120):
        history.step()
    with psycopg.connect(db_url) as other:
        assert _totals(other)[0] == _totals(conn)[1]
    # Test setup only: nothing in the product edits or deletes an attempt today.
    changed = conn.execute(
        "update job_results set captcha_kind = 'hcaptcha', captcha_solved = not attempt > 1,"
        " error_code = case when error_code is null then null else 'proxy_error' end"
        " where id % 2 = 0"
    ).rowcount
    removed = conn.execute(
        "delete from job_results where id in (select id from job_results order by id limit 3)"
    ).rowcount
    assert changed > 0
    assert removed == 3
    counters, recount = _totals(conn)
    assert counters == recount
    # Test setup only: attempts and completions moved to other hours, days and weeks.
    moved = conn.execute(
        "update job_results set reported_at = reported_at - make_interval(hours => (id % 200)::int)"
        " where id % 3 = 0"
    ).rowcount
    conn.execute(
        "update jobs set completed_at = completed_at - interval '9 days'"
        " where completed_at is not null"
    )
    assert moved > 0
    kept, counted = _rollups(conn)
    assert kept == counted
    assert len({row[1] for row in counted if row[0] == 168}) > 1, "more than one week"
    assert any(row[0] == 0 for row in counted), "some attempts are within the minutes kept"


def _wait_until_gone(conn: Conn, pid: int) -> None:
    """A closed connection's backend exits a moment later; wait for it, bounded."""
    for _ in range(200):
        row = conn.execute(
            "select exists (select 1 from pg_stat_activity where pid = %s)", (pid,)
        ).fetchone()
        if row is not None and not row[0]:
            return
        time.sleep(0.025)
    raise AssertionError(f"backend {pid} still running")


def test_fold_and_recount_leave_the_totals_unchanged(
    db_url: str, conn: Conn, queries: Queries
) -> None:
    """Migration 20261208000140: a history written by a backend that has since gone leaves
    its shard behind; the fold moves it into shard 0 and a recount rebuilds it from the raw
    tables, and metrics_totals() (with queue_stats()'s jobs) reads the same throughout."""
    enable_test_directories(conn, 2)
    set_tier_caps(conn, {"starter": 100})
    with psycopg.connect(db_url, autocommit=True) as writer:
        writer_pid = writer.info.backend_pid
        history = History(writer, queries, 42)
        for _ in range(80):
            history.step()
    _wait_until_gone(conn, writer_pid)
    before, recount = _totals(conn)
    assert before == recount
    shard_rows = "select count(*) from private.metrics_counters where shard = %s"
    assert conn.execute(shard_rows, (writer_pid,)).fetchone() != (0,)

    kept, counted = _rollups(conn)
    assert kept == counted
    rollup_rows = "select count(*) from private.attempt_rollups where shard = %s"
    assert conn.execute(rollup_rows, (writer_pid,)).fetchone() != (0,)
    minute_rows = "select count(*) from private.attempt_minute_rollups where shard = %s"
    assert conn.execute(minute_rows, (writer_pid,)).fetchone() != (0,)

    (folded,) = conn.execute("select metrics_counters_fold()").fetchone() or (0,)
    assert folded > 0
    assert conn.execute(shard_rows, (writer_pid,)).fetchone() == (0,)
    assert conn.execute(rollup_rows, (writer_pid,)).fetchone() == (0,)
    assert conn.execute(minute_rows, (writer_pid,)).fetchone() == (0,)
    assert _totals(conn) == (before, recount)
    assert _rollups(conn) == (kept, counted)

    conn.execute("select metrics_counters_recount()")
    assert conn.execute(
        "select count(*) from private.metrics_counters where shard <> 0"
    ).fetchone() == (0,)
    assert conn.execute(
        "select (select count(*) from private.attempt_rollups where shard <> 0)"
        " + (select count(*) from private.job_completion_rollups where shard <> 0)"
        " + (select count(*) from private.attempt_minute_rollups where shard <> 0)"
    ).fetchone() == (0,)
    assert _totals(conn) == (before, recount)
    assert _rollups(conn) == (kept, counted)
