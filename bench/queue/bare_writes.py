"""The bare loop writing what ours writes: a floor for a cycle that keeps our facts.

The bare loop (bench/queue/bare.py) writes 7 rows a cycle; ours writes about 90, because a
cycle keeps facts the product needs: an audit row per fact, a Realtime message per change,
the customer's two emails, the lease ledger, the report and refund rows, the directories'
states, the workers and tiers rows, the exact counters, and the charts' and the recent
minutes' rollups. This system does the bare loop's cycle with those same rows, per table
and per transaction as
`make bench-queue` counts them for ours (25 inserted, 65 updated), each call still one
statement and one round trip — but with no guard, no lookup and no function: plain writes
into tables of the same shape (statuses indexed, so those updates are not HOT, as ours are
not; counters and rollups on fillfactor 70, one row per client, as ours keep one per
backend). Ours ÷ this is what our functions cost beyond the writes themselves.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from bench.queue import databases
from bench.queue.sync_client import SyncClient

DATABASE = "dbolt_bench_bare_writes"
RESULTS_PER_JOB = 5
BUCKET_SIZES = (1, 6, 24, 168)
# Clients whose worker, counter and rollup rows the prefill creates; more create their own.
PREFILLED_CLIENTS = 64

SCHEMA_SQL = """
create table bw_jobs (
  id bigserial primary key,
  status text not null default 'pending',
  created_at timestamptz not null default now(),
  lease uuid,
  worker text,
  started_at timestamptz,
  completed_at timestamptz
);
create index bw_jobs_pending_idx on bw_jobs (id) where status = 'pending';
create index bw_jobs_status_idx on bw_jobs (status, created_at);
create table bw_workers (
  id text primary key,
  last_seen_at timestamptz,
  current_job bigint,
  claims int not null default 0
) with (fillfactor = 70);
create table bw_tiers (id text primary key, running int not null default 0)
  with (fillfactor = 70);
insert into bw_tiers (id) values ('starter');
create table bw_leases (
  job_id bigint not null,
  lease uuid not null,
  worker text not null,
  at timestamptz not null default now(),
  primary key (job_id, lease)
);
create table bw_directories (
  job_id bigint not null,
  n int not null,
  status text not null default 'queued',
  updated_at timestamptz,
  primary key (job_id, n)
);
create index bw_directories_status_idx on bw_directories (status);
create table bw_results (
  id bigserial primary key,
  job_id bigint not null,
  n int not null,
  outcome text not null,
  reported_at timestamptz not null default now(),
  details jsonb not null
);
create index bw_results_job_idx on bw_results (job_id, id);
create table bw_audit (
  id bigserial primary key,
  job_id bigint,
  action text not null,
  actor text not null,
  details jsonb not null,
  at timestamptz not null default now()
);
create index bw_audit_job_idx on bw_audit (job_id, at);
create table bw_messages (
  id bigserial primary key,
  topic text not null,
  event text not null,
  payload jsonb not null,
  inserted_at timestamptz not null default now()
);
create index bw_messages_inserted_idx on bw_messages (inserted_at);
create table bw_notifications (
  id bigserial primary key,
  job_id bigint not null,
  kind text not null,
  created_at timestamptz not null default now(),
  sent_at timestamptz
);
create index bw_notifications_unsent_idx on bw_notifications (created_at) where sent_at is null;
create table bw_reports (job_id bigint primary key, summary jsonb not null);
create table bw_refunds (job_id bigint primary key, amount int not null);
create table bw_rollups (key text primary key, n bigint not null default 0)
  with (fillfactor = 70);
create table bw_counters (name text primary key, n bigint not null default 0)
  with (fillfactor = 70);
"""

PREFILL_SQL = """
with j as (
  insert into bw_jobs (status) select 'pending' from generate_series(1, %(jobs)s) returning id
)
insert into bw_directories (job_id, n)
select j.id, n from j, generate_series(1, %(results)s) as n
"""

# Claim: the job, its worker and tier, the lease ledger, an audit row, a message, the
# "work started" email, and the counters of the two statuses it moves between.
CLAIM_SQL = """
with j as (
  update bw_jobs set status = 'running', lease = gen_random_uuid(), worker = %(worker)s,
                     started_at = now()
   where id = (select id from bw_jobs where status = 'pending'
                order by id limit 1 for update skip locked)
  returning id, lease
), w as (
  update bw_workers set last_seen_at = now(), current_job = (select id from j),
                        claims = claims + 1
   where id = %(worker)s and exists (select 1 from j)
), t as (
  update bw_tiers set running = running + 1 where id = 'starter' and exists (select 1 from j)
), l as (
  insert into bw_leases (job_id, lease, worker) select id, lease, %(worker)s from j
), a as (
  insert into bw_audit (job_id, action, actor, details)
  select id, 'job.claimed', %(worker)s, jsonb_build_object('lease', lease) from j
), m as (
  insert into bw_messages (topic, event, payload)
  select 'staff', 'job', jsonb_build_object('job_id', id, 'status', 'running') from j
), e as (
  insert into bw_notifications (job_id, kind) select id, 'job_started' from j
), c as (
  update bw_counters set n = n + 1
   where name = any(%(claim_counters)s) and exists (select 1 from j)
)
select id, lease from j
"""

# A report: the attempt, its directory's state, an audit row, a message, and the rollups of
# its four bucket sizes for its directory and for all directories.
REPORT_SQL = """
with r as (
  insert into bw_results (job_id, n, outcome, details)
  values (%(job_id)s, %(n)s, 'success', %(details)s) returning id
), d as (
  update bw_directories set status = 'submitted', updated_at = now()
   where job_id = %(job_id)s and n = %(n)s
), a as (
  insert into bw_audit (job_id, action, actor, details)
  values (%(job_id)s, 'directory.reported', %(worker)s, %(details)s)
), m as (
  insert into bw_messages (topic, event, payload)
  values ('staff', 'directory', jsonb_build_object('job_id', %(job_id)s, 'n', %(n)s))
), u as (
  update bw_rollups set n = n + 1 where key = any(%(rollups)s)
)
select id from r
"""

# Done: the job, its worker and tier, two audit rows, a message, the "report ready" email,
# the report and refund rows, the completion rollups and three counters.
DONE_SQL = """
with j as (
  update bw_jobs set status = 'done', lease = null, completed_at = now()
   where id = %(job_id)s and lease = %(lease)s and status = 'running'
  returning id
), w as (
  update bw_workers set last_seen_at = now(), current_job = null where id = %(worker)s
), t as (
  update bw_tiers set running = running - 1 where id = 'starter'
), a as (
  insert into bw_audit (job_id, action, actor, details)
  select id, x.action, %(worker)s, '{}'
    from j, (values ('job.completed'), ('job.summary')) as x(action)
), m as (
  insert into bw_messages (topic, event, payload)
  select 'staff', 'job', jsonb_build_object('job_id', id, 'status', 'done') from j
), e as (
  insert into bw_notifications (job_id, kind) select id, 'report_ready' from j
), p as (
  insert into bw_reports (job_id, summary) select id, '{"delivered": 5}' from j
), f as (
  insert into bw_refunds (job_id, amount) select id, 0 from j
), cr as (
  update bw_rollups set n = n + 1 where key = any(%(completion_rollups)s)
), c as (
  update bw_counters set n = n + 1 where name = any(%(done_counters)s)
)
select count(*) from j
"""

FINISHED_SQL = """
select count(*) from bw_jobs j
 where j.status = 'done' and (select count(*) from bw_results r where r.job_id = j.id) = 5
"""

# An attempt record about the size of the worker's (fields, timings, outcome checks).
DETAILS = Jsonb(
    {
        "outcome": "success",
        "confirmed": True,
        "duration_ms": 2300,
        "fields": {"name": "filled", "phone": "filled", "address": "filled", "url": "filled"},
        "checks": ["confirmation text seen", "no error banner"],
        "attempt": 1,
    }
)


class BareWritesClient(SyncClient):
    def __init__(self, url: str, index: int) -> None:
        super().__init__(url)
        self.worker = f"bench-{index}"
        mine = f"{index}:"
        self.claim_counters = [mine + "jobs.pending", mine + "jobs.running"]
        self.done_counters = [mine + "jobs.running", mine + "jobs.done", mine + "completed"]
        # Per report: each bucket size for its directory and for all, and the minute's row.
        self.rollups = {
            n: [f"{mine}{hours}:{scope}" for hours in BUCKET_SIZES for scope in (n, "all")]
            + [f"{mine}minute"]
            for n in range(1, RESULTS_PER_JOB + 1)
        }
        self.completion_rollups = [f"{mine}{hours}:done" for hours in BUCKET_SIZES]

    def create_rows(self, conn: psycopg.Connection[Any]) -> None:
        """Its own worker, counter and rollup rows, as each backend has its shard; rows
        already there (the prefill's) are kept, so nothing is written inside the run."""
        keys = [key for keys in self.rollups.values() for key in keys]
        conn.execute(
            "insert into bw_rollups (key) select unnest(%s::text[]) on conflict do nothing",
            (keys + self.completion_rollups,),
        )
        conn.execute(
            "insert into bw_counters (name) select distinct unnest(%s::text[])"
            " on conflict do nothing",
            (self.claim_counters + self.done_counters,),
        )
        conn.execute(
            "insert into bw_workers (id) values (%s) on conflict do nothing", (self.worker,)
        )

    def open(self) -> None:
        super().open()
        self.create_rows(self.conn)

    def work(self) -> int:
        cycles = 0
        params: dict[str, Any] = {"worker": self.worker, "details": DETAILS}
        claim = {**params, "claim_counters": self.claim_counters}
        while claimed := self.conn.execute(CLAIM_SQL, claim).fetchone():
            job_id, lease = claimed
            for n in range(1, RESULTS_PER_JOB + 1):
                report = {**params, "job_id": job_id, "n": n, "rollups": self.rollups[n]}
                self.conn.execute(REPORT_SQL, report)
            done = self.conn.execute(
                DONE_SQL,
                {
                    **params,
                    "job_id": job_id,
                    "lease": lease,
                    "completion_rollups": self.completion_rollups,
                    "done_counters": self.done_counters,
                },
            ).fetchone()
            if done != (1,):
                raise RuntimeError(f"bare+writes job {job_id} lost its lease")
            cycles += 1
        return cycles


class BareWrites:
    def create_database(self) -> str:
        url = databases.fresh_empty(DATABASE)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(SCHEMA_SQL)
        return url

    def prefill(self, url: str, jobs: int) -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(PREFILL_SQL, {"jobs": jobs, "results": RESULTS_PER_JOB})
            # Before the run's writes are counted (the harness snapshots after the prefill).
            for index in range(PREFILLED_CLIENTS):
                BareWritesClient(url, index).create_rows(conn)
            conn.execute("analyze bw_jobs")

    def client(self, url: str, index: int) -> BareWritesClient:
        return BareWritesClient(url, index)

    def count_finished(self, url: str) -> int:
        with psycopg.connect(url) as conn:
            row = conn.execute(FINISHED_SQL).fetchone()
        return int(row[0]) if row else 0


SYSTEM = BareWrites()
