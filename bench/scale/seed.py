"""A year of traffic, scaled down, written set-based straight into the tables.

Seeding goes around the functions (a million calls of jobs_report_attempt would take hours)
but writes rows in the shape they leave behind: jobs spread evenly over the last 365 days,
each over every enabled directory, each directory tried one to three times (transient errors
before a success or a permanent error), one `directory.attempt_reported` audit row per attempt
and `job.enqueued` / `job.claimed` / `job.completed` per job, the customer's two emails (sent),
a report per finished job, and the last three days' Realtime messages (what hosted Realtime
keeps). `session_replication_role = replica` switches the triggers off for the seed only:
the broadcast and notification triggers would otherwise fire once per row, and the foreign
keys are satisfied by construction.

The same seed with `jobs=1` is the "nearly empty" database the year is compared against.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

# The year the issue describes: a million jobs and about a hundred million attempts.
YEAR_JOBS = 1_000_000

VIEWER_EMAIL = "scale-viewer@example.com"

# The customer whose pages are measured; a real auth user and customer, with the template
# order whose business snapshot every seeded job copies.
VIEWER_SQL = """
select dev.create_paid_order(email => %(email)s, tier => 'starter') as order_id
"""

SEED_SQL = """
set local session_replication_role = replica;

create temp table seed_dirs on commit drop as
  select d.id, row_number() over (order by d.id)::int as pos from public.directories d
   where d.enabled;

create temp table seed_template on commit drop as
  select c.* from public.customers c where c.email = %(viewer_email)s;

-- Customer n = 1 is the viewer (already there); the others copy its business.
insert into public.customers
select (jsonb_populate_record(t, jsonb_build_object(
          'id', md5('customer-' || n)::uuid, 'user_id', null,
          'email', 'seed-' || n || '@example.com',
          'business_name', t.business_name || ' ' || n,
          'created_at', now() - interval '365 days' * (1 - n::float8 / %(jobs)s)))).*
  from generate_series(2, %(jobs)s) as n, seed_template t;

create temp table seed_jobs on commit drop as
  select n,
         case when n = 1 then t.id else md5('customer-' || n)::uuid end as customer_id,
         md5('order-' || n)::uuid as order_id,
         md5('job-' || n)::uuid as job_id,
         now() - interval '1 hour' - interval '365 days' * (1 - n::float8 / %(jobs)s) as created_at,
         -- 2 in 100 cancelled by staff, 1 in 100 paused, the rest complete.
         case when n > 1 and n %% 100 = 7 then 'cancelled'
              when n > 1 and n %% 100 = 8 then 'paused' else 'complete' end::public.job_status
           as status
    from generate_series(1, %(jobs)s) as n, seed_template t;

insert into public.orders (id, customer_id, tier, status, amount_total, currency, paid_at,
                           stripe_checkout_session_id, created_at)
select s.order_id, s.customer_id, 'starter', 'paid', 4900, 'usd', s.created_at,
       'cs_seed_' || s.n, s.created_at
  from seed_jobs s;

insert into public.jobs (id, order_id, customer_id, tier, status, business_snapshot,
                         created_at, updated_at, started_at, completed_at, staff_reason)
select s.job_id, s.order_id, s.customer_id, 'starter', s.status, tj.business_snapshot,
       s.created_at, s.created_at + interval '2 hours', s.created_at + interval '1 minute',
       case when s.status = 'complete' then s.created_at + interval '2 hours' end,
       case when s.status = 'cancelled' then 'Seeded: cancelled at the customer''s request' end
  from seed_jobs s, (select j.business_snapshot from public.jobs j
                      where j.order_id = %(template_order)s) tj;

-- Every 10th directory of a job fails for good after three tries; the others are submitted
-- after one to three. A cancelled or paused job stopped halfway: its second half skipped or
-- still queued.
create temp table seed_jd on commit drop as
  select s.job_id, s.created_at, s.status as job_status, d.id as directory_id, d.pos,
         case when s.status <> 'complete' and d.pos > 15 then 0
              when (s.n + d.pos) %% 10 = 0 then 3
              else 1 + (s.n + d.pos) %% 3 end as tries,
         case when s.status = 'cancelled' and d.pos > 15 then 'skipped'
              when s.status = 'paused' and d.pos > 15 then 'queued'
              when (s.n + d.pos) %% 10 = 0 then 'failed'
              else 'submitted' end::public.job_directory_status as status
    from seed_jobs s, seed_dirs d;

insert into public.job_directories (job_id, directory_id, position, status, attempts,
                                    last_outcome, last_error_code, last_message, listing_url,
                                    updated_at, submitted_at)
select jd.job_id, jd.directory_id, jd.pos, jd.status, jd.tries,
       case jd.status when 'submitted' then 'success' when 'failed' then 'permanent_error'
                      when 'skipped' then 'skipped' end::public.attempt_outcome,
       case when jd.status = 'failed' then 'field_rejected' end,
       case when jd.status = 'failed' then 'phone: the site wants a local number' end,
       case when jd.status = 'submitted'
            then 'https://listing.example/' || jd.directory_id || '/' || jd.job_id end,
       jd.created_at + interval '1 minute' * (jd.pos + jd.tries),
       case when jd.status = 'submitted'
            then jd.created_at + interval '1 minute' * (jd.pos + jd.tries) end
  from seed_jd jd;

insert into public.job_results (job_id, directory_id, attempt, outcome, confirmed, error_code,
                                message, listing_url, duration_ms, captcha_kind, captcha_solved,
                                proxy, worker_id, reported_at, lease_token)
select jd.job_id, jd.directory_id, a.attempt, o.outcome, o.outcome = 'success',
       case o.outcome when 'success' then null when 'permanent_error' then 'field_rejected'
            else case when a.attempt %% 2 = 1 then 'proxy_error' else 'timeout' end end,
       case when o.outcome <> 'success' then 'seeded failure' end,
       case when o.outcome = 'success'
            then 'https://listing.example/' || jd.directory_id || '/' || jd.job_id end,
       20000 + (jd.pos * 997 + a.attempt * 131) %% 40000,
       case when jd.pos %% 4 = 0 then 'recaptcha' end,
       case when jd.pos %% 4 = 0 then a.attempt = jd.tries end,
       'proxy-' || (jd.pos %% 7), 'seed-worker-' || (jd.pos %% 8),
       jd.created_at + interval '1 minute' * (jd.pos + a.attempt),
       md5('lease-' || jd.job_id || a.attempt)::uuid
  from seed_jd jd
 cross join lateral generate_series(1, jd.tries) as a(attempt)
 cross join lateral (select case when a.attempt < jd.tries then 'transient_error'
                                 when jd.status = 'failed' then 'permanent_error'
                                 else 'success' end::public.attempt_outcome as outcome) o;

insert into public.audit_log (at, actor, action, job_id, directory_id, details)
select jd.created_at + interval '1 minute' * (jd.pos + a.attempt), 'worker:seed-worker',
       'directory.attempt_reported', jd.job_id, jd.directory_id,
       jsonb_build_object('attempt', a.attempt)
  from seed_jd jd cross join lateral generate_series(1, jd.tries) as a(attempt);

insert into public.audit_log (at, actor, action, job_id, from_status, to_status)
select s.created_at + e.after, e.actor, e.action, s.job_id, e.from_status, e.to_status
  from seed_jobs s
 cross join lateral (values
   (interval '0', 'system', 'job.enqueued', null, 'pending'),
   (interval '1 minute', 'worker:seed-worker', 'job.claimed', 'pending', 'in_progress'),
   (interval '2 hours', case s.status when 'complete' then 'worker:seed-worker' else 'staff' end,
    case s.status when 'complete' then 'job.completed' when 'cancelled' then 'job.cancelled'
                  else 'job.paused' end, 'in_progress', s.status::text)
 ) as e(after, actor, action, from_status, to_status);

insert into public.notifications (kind, dedupe_key, recipient, customer_id, job_id, created_at,
                                  send_after, attempts, last_attempt_at, sent_at)
select k.kind, k.kind || ':' || s.job_id, 'seed-' || s.n || '@example.com', s.customer_id,
       s.job_id, s.created_at + k.after, s.created_at + k.after, 1, s.created_at + k.after,
       s.created_at + k.after
  from seed_jobs s
 cross join lateral (values ('job_started'::public.notification_kind, interval '1 minute'),
                            ('job_complete', interval '2 hours')) as k(kind, after)
 where k.kind = 'job_started' or s.status = 'complete';

insert into public.job_reports (job_id, summary, created_at)
select s.job_id, jsonb_build_object('submitted', count(*) filter (where jd.status = 'submitted'),
                                    'failed', count(*) filter (where jd.status = 'failed')),
       s.created_at + interval '2 hours'
  from seed_jobs s join seed_jd jd on jd.job_id = s.job_id
 where s.status = 'complete'
 group by s.job_id, s.created_at;

-- One broadcast per attempt (the directory's progress) for the last three days only: hosted
-- Realtime keeps no more, and the local stack prunes the same way (issue 16, item 2).
insert into realtime.messages (topic, extension, event, payload, private, inserted_at, updated_at)
select 'job:' || jd.job_id, 'broadcast', 'directory', jsonb_build_object(
         'directory_id', jd.directory_id, 'attempt', a.attempt), true,
       (jd.created_at + interval '1 minute' * (jd.pos + a.attempt)) at time zone 'utc',
       (jd.created_at + interval '1 minute' * (jd.pos + a.attempt)) at time zone 'utc'
  from seed_jd jd cross join lateral generate_series(1, jd.tries) as a(attempt)
 where jd.created_at > now() - interval '3 days';
"""

# The seed went around the triggers that keep metrics_totals()'s and queue_stats()'s
# counters (migrations 20261208000100 and 0130) and the charts' rollups (1000), so once it
# is done they are rebuilt from the rows: by metrics_counters_recount() where the rollups are
# there, else as those migrations first filled the counters. Before them there is nothing to do.
RECOUNT_SQL = """
do $$
begin
  if to_regclass('private.attempt_rollups') is not null then
    perform public.metrics_counters_recount();
    return;
  end if;
  if to_regclass('private.metrics_counters') is null then
    return;
  end if;
  delete from private.metrics_counters;
  insert into private.metrics_counters (name, shard, value)
  select k.name, 0, sum(g.n)
    from (select r.outcome, r.confirmed, r.attempt > 1 as is_retry,
                 r.captcha_kind is not null as has_captcha, r.captcha_solved,
                 r.error_code is not distinct from 'proxy_error' as proxy_failed, count(*) as n
            from public.job_results r
           group by 1, 2, 3, 4, 5, 6) g,
         lateral private.attempt_counter_names(g.outcome, g.confirmed, g.is_retry,
                                               g.has_captcha, g.captcha_solved,
                                               g.proxy_failed) k(name)
   group by k.name;
  insert into private.metrics_counters (name, shard, value)
  select 'jobs_completed', 0, count(*) from public.audit_log a where a.action = 'job.completed';
  -- Jobs by status (migration 20261208000130), where that migration is there.
  if exists (select 1 from pg_trigger where tgname = 'jobs_counted_on_insert') then
    insert into private.metrics_counters (name, shard, value)
    select 'jobs.' || j.status::text, 0, count(*) from public.jobs j group by j.status;
  end if;
end
$$
"""

COUNTS_SQL = """
select (select count(*) from public.jobs) as jobs,
       (select count(*) from public.job_directories) as job_directories,
       (select count(*) from public.job_results) as job_results,
       (select count(*) from public.audit_log) as audit_log,
       (select count(*) from public.notifications) as notifications,
       (select count(*) from realtime.messages) as realtime_messages
"""


@dataclass(frozen=True)
class Seeded:
    viewer_job_id: str
    counts: dict[str, int]


def seed(url: str, jobs: int) -> Seeded:
    """`jobs` jobs of a year's shape; job n = 1 (the oldest) belongs to the viewer."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(VIEWER_SQL, {"email": VIEWER_EMAIL}).fetchone()
        assert row is not None
        template_order = row[0]
        # The template job, through the real path, for a business snapshot the checks accept;
        # it stays, a pending job of the viewer's.
        conn.execute("select jobs_enqueue(order_id => %s)", (template_order,))
        with conn.transaction():
            params = {"jobs": jobs, "viewer_email": VIEWER_EMAIL, "template_order": template_order}
            for statement in SEED_SQL.split(";\n\n"):
                conn.execute(statement, params)
            conn.execute(RECOUNT_SQL)
        conn.execute("vacuum analyze")
        cur = conn.execute(COUNTS_SQL)
        names = [c.name for c in cur.description or ()]
        values = cur.fetchone()
        assert values is not None
        viewer_job = conn.execute("select md5('job-1')::uuid").fetchone()
    assert viewer_job is not None
    return Seeded(str(viewer_job[0]), dict(zip(names, (int(v) for v in values), strict=True)))
