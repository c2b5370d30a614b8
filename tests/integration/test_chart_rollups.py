"""The staff charts read rollups (migrations 20261208001000 and 1010) and show the numbers the
raw queries showed before them: on a seeded history of forty days, with attempts placed
exactly on every window's edges, moved and removed, and jobs completed and reopened, every
window the page offers gives the same series and the same per-directory rates as the raw
queries (the bodies of 20261129002100 and 20261207000100, kept here as the reference), and
still does after the rollups are folded and after they are recounted."""

from __future__ import annotations

import json
import random
import uuid
from datetime import timedelta
from typing import Any

import psycopg
import pytest

from dbolt.sql import Queries
from portal.staff.charts import WINDOWS
from tests.support.queue_helpers import create_job, enable_test_directories

Conn = psycopg.Connection[Any]

# staff_chart_series before the rollups (20261129002100), for one window and bucket size.
RAW_SERIES_SQL = """
with params as (
  select make_interval(secs => %(bucket)s) as bucket,
         date_bin(make_interval(secs => %(bucket)s), now() - make_interval(secs => %(window)s),
                  timestamptz '2000-01-01 00:00:00+00') as first,
         date_bin(make_interval(secs => %(bucket)s), now(),
                  timestamptz '2000-01-01 00:00:00+00') as last
),
buckets as (
  select g.b from params p, generate_series(p.first, p.last, p.bucket) as g(b)
),
attempts as (
  select date_bin(p.bucket, r.reported_at, timestamptz '2000-01-01 00:00:00+00') as b,
         count(*) as n,
         count(*) filter (where r.outcome = 'success') as success,
         count(*) filter (where r.outcome = 'needs_action') as needs_action,
         count(*) filter (where r.outcome = 'transient_error') as transient_error,
         count(*) filter (where r.outcome = 'permanent_error') as permanent_error,
         count(*) filter (where r.outcome = 'skipped') as skipped,
         count(*) filter (where r.attempt > 1) as retries,
         count(*) filter (where r.captcha_solved) as captchas_solved,
         count(*) filter (where r.captcha_kind is not null
                            and r.captcha_solved is not true) as captchas_failed,
         count(*) filter (where r.error_code = 'proxy_error') as proxy_failures
    from public.job_results r, params p
   where r.reported_at >= p.first
   group by 1
),
completions as (
  select date_bin(p.bucket, j.completed_at, timestamptz '2000-01-01 00:00:00+00') as b,
         count(*) as n
    from public.jobs j, params p
   where j.completed_at >= p.first
   group by 1
)
select bk.b, coalesce(c.n, 0), coalesce(a.n, 0), coalesce(a.success, 0),
       coalesce(a.needs_action, 0), coalesce(a.transient_error, 0),
       coalesce(a.permanent_error, 0), coalesce(a.skipped, 0), coalesce(a.retries, 0),
       coalesce(a.captchas_solved, 0), coalesce(a.captchas_failed, 0),
       coalesce(a.proxy_failures, 0)
  from buckets bk
  left join attempts a on a.b = bk.b
  left join completions c on c.b = bk.b
 order by bk.b
"""

# staff_directory_success before the rollups (20261207000100), its window starting at the
# whole hour since 20261209000120.
RAW_SUCCESS_SQL = """
with since as (select date_bin('1 hour', now() - make_interval(secs => %(window)s),
                               timestamptz '2000-01-01 00:00:00+00') as at),
tried as (
  select r.directory_id as id, r.reported_at >= s.at as recent,
         private.attempt_result(r.outcome, r.confirmed) as result
    from public.job_results r, since s
   where r.reported_at >= s.at - interval '7 days'
),
recent as (
  select t.id, count(*) as n,
         count(*) filter (where t.result in ('succeeded', 'failed')) as done,
         count(*) filter (where t.result = 'succeeded') as ok,
         count(*) filter (where t.result = 'failed') as bad,
         count(*) filter (where t.result in ('waiting', 'needs_review')) as waits
    from tried t where t.recent group by t.id
),
baseline as (
  select t.id, count(*) as n,
         count(*) filter (where t.result in ('succeeded', 'failed')) as done,
         count(*) filter (where t.result = 'succeeded') as ok
    from tried t where not t.recent and t.id in (select recent.id from recent) group by t.id
)
select rc.id, d.name, rc.n, rc.done, rc.ok, rc.bad, rc.waits,
       round(rc.ok::numeric / nullif(rc.done, 0), 4),
       coalesce(bl.n, 0), coalesce(bl.done, 0), round(bl.ok::numeric / nullif(bl.done, 0), 4)
  from recent rc
  join public.directories d on d.id = rc.id
  left join baseline bl on bl.id = rc.id
 order by round(rc.ok::numeric / nullif(rc.done, 0), 4) nulls last, rc.n desc, rc.id
"""

STAFF_CLAIMS = json.dumps(
    {
        "sub": str(uuid.UUID(int=1)),
        "role": "authenticated",
        "aud": "authenticated",
        "app_metadata": {"provider": "email", "role": "staff"},
    }
)

# Every kind of attempt the charts tell apart, as the columns an insert needs.
KINDS: list[dict[str, Any]] = [
    {"outcome": "success", "confirmed": True},
    {"outcome": "success", "confirmed": False},
    {"outcome": "already_listed"},
    {"outcome": "transient_error", "error_code": "proxy_error"},
    {"outcome": "transient_error", "error_code": "timeout"},
    {"outcome": "permanent_error", "error_code": "field_rejected"},
    {"outcome": "needs_action"},
    {"outcome": "skipped"},
    {
        "outcome": "parked",
        "wait_kind": "email",
        "wait_seconds": 3600,
        "resume_phase": "verify_email",
    },
]

INSERT_SQL = """
insert into job_results (job_id, directory_id, attempt, outcome, confirmed, error_code,
                         captcha_kind, captcha_solved, wait_kind, wait_seconds, resume_phase,
                         reported_at)
values (%(job_id)s, %(directory_id)s, %(attempt)s, %(outcome)s, %(confirmed)s,
        %(error_code)s, %(captcha_kind)s, %(captcha_solved)s, %(wait_kind)s, %(wait_seconds)s,
        %(resume_phase)s, now() - %(ago)s)
"""


# Where each window the page offers, and its week of baseline, starts; the hour, quarter
# day, day, week and chart bucket around each start; a microsecond either side of each. As
# intervals before now().
EDGES_SQL = """
select distinct now() - b.at + s.shift
  from unnest(%(seconds)s::int[], %(buckets)s::int[]) as w(seconds, bucket)
 cross join lateral (values (now() - make_interval(secs => w.seconds)),
                            (now() - make_interval(secs => w.seconds) - interval '7 days')) v(since)
 cross join lateral (values (3600), (21600), (86400), (604800), (w.bucket)) z(size)
 cross join lateral (
   values (v.since),
          (date_bin(make_interval(secs => z.size), v.since, timestamptz '2000-01-01 00:00:00+00')),
          (date_bin(make_interval(secs => z.size), v.since, timestamptz '2000-01-01 00:00:00+00')
           + make_interval(secs => z.size))) b(at)
 cross join (values (interval '-1 microsecond'), (interval '0'),
                   (interval '1 microsecond')) s(shift)
 where now() - b.at + s.shift > interval '0'
 order by 1
"""


def _edges(conn: Conn) -> list[timedelta]:
    params = {
        "seconds": [w.seconds for w in WINDOWS.values()],
        "buckets": [w.bucket_seconds for w in WINDOWS.values()],
    }
    return [row[0] for row in conn.execute(EDGES_SQL, params).fetchall()]


def seed_history(conn: Conn, queries: Queries, rng: random.Random) -> None:
    """Forty days of attempts on four directories and six jobs, some moved and removed, then
    one on every edge; jobs completed, one on an edge, one reopened."""
    directories = enable_test_directories(conn, 4)
    jobs = [create_job(conn, queries) for _ in range(6)]
    attempts: dict[tuple[uuid.UUID, str], int] = {}

    def attempt_at(ago: timedelta) -> None:
        job_id, directory_id = rng.choice(jobs), rng.choice(directories)
        attempt = attempts.get((job_id, directory_id), 0) + 1
        attempts[job_id, directory_id] = attempt
        captcha = rng.random() < 0.3
        conn.execute(
            INSERT_SQL,
            {
                "job_id": job_id,
                "directory_id": directory_id,
                "attempt": attempt,
                "confirmed": False,
                "error_code": None,
                "wait_kind": None,
                "wait_seconds": None,
                "resume_phase": None,
                "captcha_kind": "recaptcha" if captcha else None,
                "captcha_solved": rng.random() < 0.5 if captcha else None,
                "ago": ago,
                **rng.choice(KINDS),
            },
        )

    for _ in range(600):
        attempt_at(timedelta(seconds=rng.uniform(0, 40 * 86400)))
    # Test setup only: attempts moved in time and removed, as a correction or retention would.
    conn.execute(
        "update job_results set reported_at = reported_at - interval '29 hours' where id % 7 = 3"
    )
    conn.execute("delete from job_results where id % 11 = 5")
    edges = _edges(conn)
    for ago in edges:
        attempt_at(ago)
    for job_id, ago in zip(
        jobs,
        [timedelta(seconds=rng.uniform(0, 40 * 86400)) for _ in range(4)] + rng.sample(edges, 2),
        strict=True,
    ):
        conn.execute(
            "update jobs set status = 'complete', completed_at = now() - %s where id = %s",
            (ago, job_id),
        )
    conn.execute(
        "update jobs set status = 'pending', completed_at = null where id = %s", (jobs[0],)
    )


def _charts(conn: Conn) -> dict[str, Any]:
    """Every window the page offers, through the staff functions, as staff."""
    conn.execute(
        "select set_config('role', 'dbolt_staff', true),"
        " set_config('request.jwt.claims', %s, true)",
        (STAFF_CLAIMS,),
    )
    shown = {
        key: (
            conn.execute(
                "select * from staff_chart_series(%s, %s)", (w.seconds, w.bucket_seconds)
            ).fetchall(),
            conn.execute("select * from staff_directory_success(%s)", (w.seconds,)).fetchall(),
        )
        for key, w in WINDOWS.items()
    }
    conn.execute("reset role")
    return shown


def _raw(conn: Conn) -> dict[str, Any]:
    return {
        key: (
            conn.execute(
                RAW_SERIES_SQL, {"window": w.seconds, "bucket": w.bucket_seconds}
            ).fetchall(),
            conn.execute(RAW_SUCCESS_SQL, {"window": w.seconds}).fetchall(),
        )
        for key, w in WINDOWS.items()
    }


@pytest.mark.parametrize("seed", [16, 330])
def test_charts_from_the_rollups_equal_the_raw_queries(
    conn: Conn, queries: Queries, seed: int
) -> None:
    rng = random.Random(seed)
    # One transaction, so now() (and every window's edge) is the same for the seed and reads.
    with conn.transaction():
        seed_history(conn, queries, rng)
        raw = _raw(conn)
        assert _charts(conn) == raw
        # Not vacuous: an attempt on each window's start, and every window shows attempts,
        # rates and completions.
        for window in WINDOWS.values():
            at_start = conn.execute(
                "select count(*) from job_results"
                " where reported_at = now() - make_interval(secs => %s)",
                (window.seconds,),
            ).fetchone()
            assert at_start is not None
            assert at_start[0] > 0
        for series, rates in raw.values():
            assert sum(row[2] for row in series) > 0
            assert rates
        assert sum(row[1] for row in raw["30d"][0]) > 0
        assert any(row[8] for row in raw["24h"][1]), "some directory has a baseline"

        (folded,) = conn.execute("select metrics_counters_fold()").fetchone() or (0,)
        assert folded > 0
        assert _charts(conn) == raw

        conn.execute("select metrics_counters_recount()")
        assert _charts(conn) == raw
