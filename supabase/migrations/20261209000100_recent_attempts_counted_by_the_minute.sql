-- Why: queue_stats() (its last hour: /healthz, /metrics, the staff overview) and
-- provider_health() (the last few minutes: /metrics, the degradation check) counted raw
-- job_results for their windows on every call, every few seconds; their cost grew with the
-- traffic (bench/scale at 1/10 of a year: /metrics 6.2x and queue_stats 4.5x a nearly empty
-- database, issue 16). Attempts are now also counted per UTC minute for all directories
-- together in private.attempt_minute_rollups, by the same statement-level triggers and the
-- same one pass as the hourly rollups (20261208001000), in the transaction that writes the
-- rows: exact, never behind. A window of the last N minutes is then the minute rows from its
-- first whole minute on (the current minute's rows hold every attempt up to now) plus the
-- raw rows of the part-minute before it: at most a minute of raw rows, whatever the traffic.
-- Migration 20261209000110 makes the readers use them.
--
-- Minute rows are kept for private.attempt_minutes_kept() (25 hours; the readers take
-- windows of up to 24) and pruned by metrics_counters_fold(), which also folds their shards
-- as it folds the hourly rollups'. Only all directories together: per directory, a minute
-- holds about one attempt at a year's traffic, so its rows would be as many as the raw ones.

create function private.attempt_minutes_kept() returns interval
language sql immutable set search_path = ''
as $$ select interval '25 hours' $$;
revoke execute on function private.attempt_minutes_kept() from public, anon, authenticated, service_role;

create table private.attempt_minute_rollups (
  bucket timestamptz not null,  -- a whole UTC minute
  shard int not null,
  attempts bigint not null default 0,
  retries bigint not null default 0,
  captchas bigint not null default 0,          -- attempts that met a captcha
  captchas_solved bigint not null default 0,
  captchas_failed bigint not null default 0,
  proxied bigint not null default 0,           -- through a proxy, or failed on one
  proxy_failures bigint not null default 0,
  primary key (bucket, shard)
) with (fillfactor = 70);  -- a minute's row is updated on every report: room for HOT updates
comment on table private.attempt_minute_rollups is
  'Attempts (job_results) of all directories counted per UTC minute, for the last '
  'private.attempt_minutes_kept(); kept by job_results'' triggers in the transactions that '
  'write the rows. A minute''s value is the sum over its shards (one per backend pid; 0 folded).';
create index attempt_minute_rollups_unfolded_idx on private.attempt_minute_rollups (shard)
  where shard <> 0;
revoke all on table private.attempt_minute_rollups from public, anon, authenticated, service_role;

-- An attempt's kind gains its minute (null: older than the minutes kept, as the recount
-- builds it) and whether it went through a proxy (provider_health's proxy attempts).
alter type private.attempt_kind add attribute minute timestamptz, add attribute proxied boolean;

-- From the latest body (20261208001110), plus the minute rows.
create or replace function private.attempts_count(kinds private.attempt_kind_count[], to_shard int)
returns void
language plpgsql set search_path = '' set plan_cache_mode = force_generic_plan
as $$
begin
  with k as (
    select (u.kind).*, u.n from unnest(kinds) as u where u.n <> 0
  ),
  -- Materialized: else each reference below would call the function again, per row.
  results as materialized (
    select p.outcome, p.confirmed, private.attempt_result(p.outcome, p.confirmed) as result
      from (select distinct k.outcome, k.confirmed from k) p
  )
  insert into private.attempt_rollups as a (
    bucket_hours, bucket, directory_id, shard, attempts,
    outcome_success, outcome_needs_action, outcome_transient_error, outcome_permanent_error,
    outcome_skipped, outcome_parked, outcome_already_listed,
    result_succeeded, result_failed, result_needs_review, result_waiting,
    retries, captchas_solved, captchas_failed, proxy_failures)
  select b.bucket_hours, b.bucket, b.directory_id, to_shard, sum(k.n),
         coalesce(sum(k.n) filter (where k.outcome = 'success'), 0),
         coalesce(sum(k.n) filter (where k.outcome = 'needs_action'), 0),
         coalesce(sum(k.n) filter (where k.outcome = 'transient_error'), 0),
         coalesce(sum(k.n) filter (where k.outcome = 'permanent_error'), 0),
         coalesce(sum(k.n) filter (where k.outcome = 'skipped'), 0),
         coalesce(sum(k.n) filter (where k.outcome = 'parked'), 0),
         coalesce(sum(k.n) filter (where k.outcome = 'already_listed'), 0),
         coalesce(sum(k.n) filter (where r.result = 'succeeded'), 0),
         coalesce(sum(k.n) filter (where r.result = 'failed'), 0),
         coalesce(sum(k.n) filter (where r.result = 'needs_review'), 0),
         coalesce(sum(k.n) filter (where r.result = 'waiting'), 0),
         coalesce(sum(k.n) filter (where k.is_retry), 0),
         coalesce(sum(k.n) filter (where k.captcha_solved), 0),
         coalesce(sum(k.n) filter (where k.has_captcha and k.captcha_solved is not true), 0),
         coalesce(sum(k.n) filter (where k.proxy_failed), 0)
    from k
    join results r on r.outcome = k.outcome and r.confirmed = k.confirmed
   cross join lateral (
     select t.bucket_hours,
            date_bin(make_interval(hours => t.bucket_hours), k.hour, timestamptz '2000-01-01 00:00:00+00') as bucket,
            d.directory_id
       from (values (1::smallint), (6::smallint), (24::smallint), (168::smallint)) as t(bucket_hours),
            (values (k.directory_id), ('')) as d(directory_id)) b
   group by b.bucket_hours, b.bucket, b.directory_id
   order by b.bucket_hours, b.bucket, b.directory_id
  on conflict (bucket_hours, bucket, directory_id, shard) do update set
    attempts = a.attempts + excluded.attempts,
    outcome_success = a.outcome_success + excluded.outcome_success,
    outcome_needs_action = a.outcome_needs_action + excluded.outcome_needs_action,
    outcome_transient_error = a.outcome_transient_error + excluded.outcome_transient_error,
    outcome_permanent_error = a.outcome_permanent_error + excluded.outcome_permanent_error,
    outcome_skipped = a.outcome_skipped + excluded.outcome_skipped,
    outcome_parked = a.outcome_parked + excluded.outcome_parked,
    outcome_already_listed = a.outcome_already_listed + excluded.outcome_already_listed,
    result_succeeded = a.result_succeeded + excluded.result_succeeded,
    result_failed = a.result_failed + excluded.result_failed,
    result_needs_review = a.result_needs_review + excluded.result_needs_review,
    result_waiting = a.result_waiting + excluded.result_waiting,
    retries = a.retries + excluded.retries,
    captchas_solved = a.captchas_solved + excluded.captchas_solved,
    captchas_failed = a.captchas_failed + excluded.captchas_failed,
    proxy_failures = a.proxy_failures + excluded.proxy_failures;

  -- Minutes older than those kept are not written: the fold would prune them, and no reader
  -- looks that far back (an old attempt changed or deleted).
  insert into private.attempt_minute_rollups as m (
    bucket, shard, attempts, retries, captchas, captchas_solved, captchas_failed, proxied,
    proxy_failures)
  select k.minute, to_shard, sum(k.n),
         coalesce(sum(k.n) filter (where k.is_retry), 0),
         coalesce(sum(k.n) filter (where k.has_captcha), 0),
         coalesce(sum(k.n) filter (where k.captcha_solved), 0),
         coalesce(sum(k.n) filter (where k.has_captcha and k.captcha_solved is not true), 0),
         coalesce(sum(k.n) filter (where k.proxied), 0),
         coalesce(sum(k.n) filter (where k.proxy_failed), 0)
    from (select (u.kind).*, u.n from unnest(kinds) as u where u.n <> 0) k
   where k.minute >= now() - private.attempt_minutes_kept()
   group by k.minute
   order by k.minute
  on conflict (bucket, shard) do update set
    attempts = m.attempts + excluded.attempts,
    retries = m.retries + excluded.retries,
    captchas = m.captchas + excluded.captchas,
    captchas_solved = m.captchas_solved + excluded.captchas_solved,
    captchas_failed = m.captchas_failed + excluded.captchas_failed,
    proxied = m.proxied + excluded.proxied,
    proxy_failures = m.proxy_failures + excluded.proxy_failures;
end;
$$;

-- From the latest body (20261208001000), plus the minute rows: folded into shard 0 like the
-- hourly ones, and every minute row older than those kept deleted.
create or replace function public.metrics_counters_fold() returns integer
language sql security definer set search_path = ''
as $$
  with gone as (
    delete from private.metrics_counters m
     where (m.name, m.shard) in (
             select d.name, d.shard from private.metrics_counters d
              where d.shard <> 0
                and d.shard not in (select a.pid from pg_catalog.pg_stat_activity a
                                     where a.pid is not null)
                for update skip locked)
    returning m.name, m.value
  ), folded as (
    insert into private.metrics_counters as m (name, shard, value)
    select g.name, 0, sum(g.value) from gone g group by g.name order by g.name
    on conflict (name, shard) do update set value = m.value + excluded.value
  ), attempts_gone as (
    delete from private.attempt_rollups a
     where (a.bucket_hours, a.bucket, a.directory_id, a.shard) in (
             select d.bucket_hours, d.bucket, d.directory_id, d.shard
               from private.attempt_rollups d
              where d.shard <> 0
                for update skip locked)
    returning a.*
  ), attempts_folded as (
    insert into private.attempt_rollups as a (
      bucket_hours, bucket, directory_id, shard, attempts,
      outcome_success, outcome_needs_action, outcome_transient_error, outcome_permanent_error,
      outcome_skipped, outcome_parked, outcome_already_listed,
      result_succeeded, result_failed, result_needs_review, result_waiting,
      retries, captchas_solved, captchas_failed, proxy_failures)
    select g.bucket_hours, g.bucket, g.directory_id, 0, sum(g.attempts),
           sum(g.outcome_success), sum(g.outcome_needs_action), sum(g.outcome_transient_error),
           sum(g.outcome_permanent_error), sum(g.outcome_skipped), sum(g.outcome_parked),
           sum(g.outcome_already_listed), sum(g.result_succeeded), sum(g.result_failed),
           sum(g.result_needs_review), sum(g.result_waiting), sum(g.retries),
           sum(g.captchas_solved), sum(g.captchas_failed), sum(g.proxy_failures)
      from attempts_gone g
     group by g.bucket_hours, g.bucket, g.directory_id
     order by g.bucket_hours, g.bucket, g.directory_id
    on conflict (bucket_hours, bucket, directory_id, shard) do update set
      attempts = a.attempts + excluded.attempts,
      outcome_success = a.outcome_success + excluded.outcome_success,
      outcome_needs_action = a.outcome_needs_action + excluded.outcome_needs_action,
      outcome_transient_error = a.outcome_transient_error + excluded.outcome_transient_error,
      outcome_permanent_error = a.outcome_permanent_error + excluded.outcome_permanent_error,
      outcome_skipped = a.outcome_skipped + excluded.outcome_skipped,
      outcome_parked = a.outcome_parked + excluded.outcome_parked,
      outcome_already_listed = a.outcome_already_listed + excluded.outcome_already_listed,
      result_succeeded = a.result_succeeded + excluded.result_succeeded,
      result_failed = a.result_failed + excluded.result_failed,
      result_needs_review = a.result_needs_review + excluded.result_needs_review,
      result_waiting = a.result_waiting + excluded.result_waiting,
      retries = a.retries + excluded.retries,
      captchas_solved = a.captchas_solved + excluded.captchas_solved,
      captchas_failed = a.captchas_failed + excluded.captchas_failed,
      proxy_failures = a.proxy_failures + excluded.proxy_failures
  ), minutes_gone as (
    delete from private.attempt_minute_rollups m
     where (m.bucket, m.shard) in (
             select d.bucket, d.shard from private.attempt_minute_rollups d
              where d.shard <> 0 or d.bucket < now() - private.attempt_minutes_kept()
                for update skip locked)
    returning m.*
  ), minutes_folded as (
    insert into private.attempt_minute_rollups as m (
      bucket, shard, attempts, retries, captchas, captchas_solved, captchas_failed, proxied,
      proxy_failures)
    select g.bucket, 0, sum(g.attempts), sum(g.retries), sum(g.captchas),
           sum(g.captchas_solved), sum(g.captchas_failed), sum(g.proxied), sum(g.proxy_failures)
      from minutes_gone g
     where g.bucket >= now() - private.attempt_minutes_kept()
     group by g.bucket
     order by g.bucket
    on conflict (bucket, shard) do update set
      attempts = m.attempts + excluded.attempts,
      retries = m.retries + excluded.retries,
      captchas = m.captchas + excluded.captchas,
      captchas_solved = m.captchas_solved + excluded.captchas_solved,
      captchas_failed = m.captchas_failed + excluded.captchas_failed,
      proxied = m.proxied + excluded.proxied,
      proxy_failures = m.proxy_failures + excluded.proxy_failures
  ), completions_gone as (
    delete from private.job_completion_rollups c
     where (c.bucket_hours, c.bucket, c.shard) in (
             select d.bucket_hours, d.bucket, d.shard from private.job_completion_rollups d
              where d.shard <> 0
                for update skip locked)
    returning c.bucket_hours, c.bucket, c.jobs_completed
  ), completions_folded as (
    insert into private.job_completion_rollups as c (bucket_hours, bucket, shard, jobs_completed)
    select g.bucket_hours, g.bucket, 0, sum(g.jobs_completed)
      from completions_gone g
     group by g.bucket_hours, g.bucket
     order by g.bucket_hours, g.bucket
    on conflict (bucket_hours, bucket, shard) do update
      set jobs_completed = c.jobs_completed + excluded.jobs_completed
  )
  select ((select count(*) from gone) + (select count(*) from attempts_gone)
          + (select count(*) from minutes_gone) + (select count(*) from completions_gone))::int
$$;
comment on function public.metrics_counters_fold() is
  'Moves the counter shards of backends that no longer exist, and every rollup row no '
  'transaction holds, into shard 0, and deletes minute rows older than those kept; totals '
  'unchanged. Returns how many rows it folded or deleted.';

-- From the latest body (20261208001000), plus the minute rows: the recount's kinds carry a
-- minute only for the attempts of the minutes kept.
create or replace function public.metrics_counters_recount() returns void
language plpgsql security definer set search_path = ''
as $$
declare
  v_week timestamptz;
  v_minutes_from timestamptz := now() - private.attempt_minutes_kept();
begin
  lock table public.jobs, public.job_results, public.audit_log in share row exclusive mode;
  lock table private.metrics_counters, private.attempt_rollups, private.job_completion_rollups,
             private.attempt_minute_rollups
    in exclusive mode;
  delete from private.metrics_counters;
  delete from private.attempt_rollups;
  delete from private.job_completion_rollups;
  delete from private.attempt_minute_rollups;

  for v_week in
    select generate_series(date_bin('168 hours', b.first, timestamptz '2000-01-01 00:00:00+00'),
                           b.last, interval '168 hours')
      from (select min(r.reported_at) as first, max(r.reported_at) as last
              from public.job_results r) b
  loop
    perform private.attempts_count(array(
      select row(g.kind, count(*))::private.attempt_kind_count
        from (select row(date_bin('1 hour', r.reported_at, timestamptz '2000-01-01 00:00:00+00'), r.directory_id,
                   r.outcome, r.confirmed, r.attempt > 1, r.captcha_kind is not null,
                   r.captcha_solved, r.error_code is not distinct from 'proxy_error',
                   case when r.reported_at >= v_minutes_from
                        then date_bin('1 minute', r.reported_at, timestamptz '2000-01-01 00:00:00+00') end,
                   r.proxy is not null or r.error_code is not distinct from 'proxy_error')::private.attempt_kind as kind
                from public.job_results r
               where r.reported_at >= v_week and r.reported_at < v_week + interval '168 hours') g
       group by g.kind), 0);
  end loop;

  insert into private.metrics_counters (name, shard, value)
  select 'jobs_completed', 0, count(*) from public.audit_log a where a.action = 'job.completed';

  -- 20261208000130's fill.
  insert into private.metrics_counters (name, shard, value)
  select 'jobs.' || j.status::text, 0, count(*) from public.jobs j group by j.status;

  insert into private.job_completion_rollups (bucket_hours, bucket, shard, jobs_completed)
  select s.bucket_hours, s.bucket, 0, count(*)
    from public.jobs j,
         lateral (select t.bucket_hours,
                         date_bin(make_interval(hours => t.bucket_hours), j.completed_at, timestamptz '2000-01-01 00:00:00+00')
                    from (values (1::smallint), (6::smallint), (24::smallint), (168::smallint))
                           as t(bucket_hours)) s(bucket_hours, bucket)
   where j.completed_at is not null
   group by s.bucket_hours, s.bucket;
end;
$$;
comment on function public.metrics_counters_recount() is
  'Rebuilds every counter behind metrics_totals() and queue_stats(), and the charts'' and '
  'recent windows'' rollups, from the raw tables.';

-- Writers wait while the trigger functions are replaced and the minutes kept are filled from
-- the rows there now, so no attempt is counted twice or missed: the file is one transaction
-- (supabase db push wraps each) and the lock holds to its end. Only the last 25 hours are
-- read (job_results_reported_at_idx), not the year. The bodies are 20261208001000's, their
-- kinds now carrying the minute and whether a proxy was used.
do $migration$
begin
  lock table public.job_results in share row exclusive mode;

  create or replace function private.job_results_count_inserted() returns trigger
  language plpgsql security definer set search_path = ''
  as $$
  begin
    perform private.attempts_count(array(
      select row(g.kind, count(*))::private.attempt_kind_count
        from (select row(date_bin('1 hour', r.reported_at, timestamptz '2000-01-01 00:00:00+00'), r.directory_id,
                   r.outcome, r.confirmed, r.attempt > 1, r.captcha_kind is not null,
                   r.captcha_solved, r.error_code is not distinct from 'proxy_error',
                   date_bin('1 minute', r.reported_at, timestamptz '2000-01-01 00:00:00+00'),
                   r.proxy is not null or r.error_code is not distinct from 'proxy_error')::private.attempt_kind as kind
                from new_rows r) g
       group by g.kind), pg_backend_pid());
    return null;
  end;
  $$;

  create or replace function private.job_results_count_deleted() returns trigger
  language plpgsql security definer set search_path = ''
  as $$
  begin
    perform private.attempts_count(array(
      select row(g.kind, -count(*))::private.attempt_kind_count
        from (select row(date_bin('1 hour', r.reported_at, timestamptz '2000-01-01 00:00:00+00'), r.directory_id,
                   r.outcome, r.confirmed, r.attempt > 1, r.captcha_kind is not null,
                   r.captcha_solved, r.error_code is not distinct from 'proxy_error',
                   date_bin('1 minute', r.reported_at, timestamptz '2000-01-01 00:00:00+00'),
                   r.proxy is not null or r.error_code is not distinct from 'proxy_error')::private.attempt_kind as kind
                from old_rows r) g
       group by g.kind), pg_backend_pid());
    return null;
  end;
  $$;

  create or replace function private.job_results_count_updated() returns trigger
  language plpgsql security definer set search_path = ''
  as $$
  begin
    perform private.attempts_count(array(
      select row(g.kind, sum(g.n))::private.attempt_kind_count
        from (select row(date_bin('1 hour', r1.reported_at, timestamptz '2000-01-01 00:00:00+00'), r1.directory_id,
                   r1.outcome, r1.confirmed, r1.attempt > 1, r1.captcha_kind is not null,
                   r1.captcha_solved, r1.error_code is not distinct from 'proxy_error',
                   date_bin('1 minute', r1.reported_at, timestamptz '2000-01-01 00:00:00+00'),
                   r1.proxy is not null or r1.error_code is not distinct from 'proxy_error')::private.attempt_kind as kind,
                     1 as n
                from new_rows r1
              union all
              select row(date_bin('1 hour', r2.reported_at, timestamptz '2000-01-01 00:00:00+00'), r2.directory_id,
                   r2.outcome, r2.confirmed, r2.attempt > 1, r2.captcha_kind is not null,
                   r2.captcha_solved, r2.error_code is not distinct from 'proxy_error',
                   date_bin('1 minute', r2.reported_at, timestamptz '2000-01-01 00:00:00+00'),
                   r2.proxy is not null or r2.error_code is not distinct from 'proxy_error')::private.attempt_kind,
                     -1
                from old_rows r2) g
       group by g.kind), pg_backend_pid());
    return null;
  end;
  $$;

  -- A truncate (tests, a restore) empties the table; its counters and rollups start again.
  create or replace function private.job_results_count_truncated() returns trigger
  language plpgsql security definer set search_path = ''
  as $$
  begin
    delete from private.metrics_counters m
     where m.name like 'attempts%' or m.name in ('retries', 'captchas_solved', 'captchas_failed',
                                                 'proxy_failures');
    delete from private.attempt_rollups;
    delete from private.attempt_minute_rollups;
    return null;
  end;
  $$;

  insert into private.attempt_minute_rollups (
    bucket, shard, attempts, retries, captchas, captchas_solved, captchas_failed, proxied,
    proxy_failures)
  select date_bin('1 minute', r.reported_at, timestamptz '2000-01-01 00:00:00+00'), 0, count(*),
         count(*) filter (where r.attempt > 1),
         count(*) filter (where r.captcha_kind is not null),
         count(*) filter (where r.captcha_solved),
         count(*) filter (where r.captcha_kind is not null and r.captcha_solved is not true),
         count(*) filter (where r.proxy is not null or r.error_code = 'proxy_error'),
         count(*) filter (where r.error_code = 'proxy_error')
    from public.job_results r
   where r.reported_at >= now() - private.attempt_minutes_kept()
   group by 1;
end
$migration$;
