-- Why: the staff charts (staff_chart_series, staff_directory_success) counted raw job_results
-- on every page load: eight days of attempts for "Last 24 hours", 37 for "Last 30 days" (28x
-- and 105x a nearly empty database's time at 1/100 of a year, bench/scale, issue 16). Attempts
-- are now also counted per bucket of 1, 6, 24 and 168 hours, per directory and for every
-- directory together, in private.attempt_rollups; jobs completed per bucket in
-- private.job_completion_rollups. Both are kept by the triggers that already keep
-- metrics_totals()'s and queue_stats()'s counters (20261208000100, 0130), in the transaction
-- that writes the rows: exact, durable across restarts, never behind (no cron). No trigger is
-- added: job_results' statement-level triggers still make one pass over their transition
-- table, now grouped by kind of attempt and hour, and feed the counters and the rollups from
-- it. Migration 20261208001010 makes the charts read the rollups.
--
-- As the counters: each backend adds to its own rows (shard = its pid), so two reports never
-- wait on one row or deadlock; metrics_counters_fold() now also folds rollup rows into shard
-- 0, and metrics_counters_recount() rebuilds them from the raw tables (after a restore).
--
-- Buckets are UTC-aligned (date_bin from 2000-01-01 00:00 UTC, as the charts' buckets) and
-- nest (an hour in a quarter day in a day in a week), so a chart bucket of any whole number
-- of hours is a sum of rows, and any span of time is a few rows of each size per directory:
-- the hours up to the first quarter day, the quarter days up to the first day, and so on,
-- and back down at the far end. Hours alone would be 888 rows per directory for the 30-day
-- view and its week of baseline; days alone would leave up to 23 hours at each end.

create table private.attempt_rollups (
  bucket_hours smallint not null check (bucket_hours in (1, 6, 24, 168)),
  bucket timestamptz not null,
  -- '' is every directory together: the charts' series read one row per bucket.
  directory_id text not null,
  shard int not null,
  attempts bigint not null default 0,
  outcome_success bigint not null default 0,
  outcome_needs_action bigint not null default 0,
  outcome_transient_error bigint not null default 0,
  outcome_permanent_error bigint not null default 0,
  outcome_skipped bigint not null default 0,
  outcome_parked bigint not null default 0,
  outcome_already_listed bigint not null default 0,
  -- private.attempt_result's four results (20261207000100).
  result_succeeded bigint not null default 0,
  result_failed bigint not null default 0,
  result_needs_review bigint not null default 0,
  result_waiting bigint not null default 0,
  retries bigint not null default 0,
  captchas_solved bigint not null default 0,
  captchas_failed bigint not null default 0,
  proxy_failures bigint not null default 0,
  primary key (bucket_hours, bucket, directory_id, shard)
) with (fillfactor = 70);  -- a bucket's row is updated on every report: room for HOT updates
comment on table private.attempt_rollups is
  'Attempts (job_results) counted per bucket of 1, 6, 24 or 168 hours, per directory and '
  'for all ('''') together, for the staff charts; kept by job_results'' triggers in the '
  'transactions that write the rows. A bucket''s value is the sum over its shards (one per '
  'backend pid; 0 folded).';
-- The fold finds the rows to move without reading the whole history.
create index attempt_rollups_unfolded_idx on private.attempt_rollups (shard) where shard <> 0;
revoke all on table private.attempt_rollups from public, anon, authenticated, service_role;

create table private.job_completion_rollups (
  bucket_hours smallint not null check (bucket_hours in (1, 6, 24, 168)),
  bucket timestamptz not null,
  shard int not null,
  jobs_completed bigint not null default 0,
  primary key (bucket_hours, bucket, shard)
);
comment on table private.job_completion_rollups is
  'Jobs counted per bucket (1, 6, 24, 168 hours) of their completed_at, for the staff '
  'charts; kept by the row triggers on jobs. A bucket''s value is the sum over its shards.';
create index job_completion_rollups_unfolded_idx on private.job_completion_rollups (shard)
  where shard <> 0;
revoke all on table private.job_completion_rollups from public, anon, authenticated, service_role;

-- What one attempt row adds to: its hour and directory, and the fields the counters and the
-- rollups count. A statement's rows are grouped by it, so they become one element per kind
-- (an attempt row is turned into one by the same row(...) expression in each trigger below
-- and in the recount; there is no function for it, as a function that pins its search_path
-- is called once per row, never inlined).
create type private.attempt_kind as (
  hour timestamptz,
  directory_id text,
  outcome public.attempt_outcome,
  confirmed boolean,
  is_retry boolean,
  has_captcha boolean,
  captcha_solved boolean,
  proxy_failed boolean
);
-- How many attempts of one kind a statement added (negative: removed).
create type private.attempt_kind_count as (kind private.attempt_kind, n bigint);

-- Adds attempts by kind to the metrics counters and the rollups of one shard: the one
-- definition of what each rollup column counts (the counters' names still come from
-- private.attempt_counter_names). private.attempt_result and attempt_counter_names are asked
-- once per distinct value, not per kind: a recount passes a week of kinds at a time. Rows in
-- key order, so one transaction's locks on its own rows are always taken in the same order.
-- PL/pgSQL with generic plans, so its statements are planned once per backend, not on every
-- report (a custom plan knows the array's length and looks cheaper, so the plan cache would
-- keep replanning: 1.5 ms of a report's 4).
create function private.attempts_count(kinds private.attempt_kind_count[], to_shard int)
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

  insert into private.metrics_counters as m (name, shard, value)
  select c.name, to_shard, sum(g.n)
    from (select (u.kind).outcome, (u.kind).confirmed, (u.kind).is_retry, (u.kind).has_captcha,
                 (u.kind).captcha_solved, (u.kind).proxy_failed, sum(u.n) as n
            from unnest(kinds) as u
           group by 1, 2, 3, 4, 5, 6) g,
         lateral private.attempt_counter_names(g.outcome, g.confirmed, g.is_retry, g.has_captcha,
                                               g.captcha_solved, g.proxy_failed) c(name)
   group by c.name
  having sum(g.n) <> 0
   order by c.name
  on conflict (name, shard) do update set value = m.value + excluded.value;
end;
$$;
revoke execute on function private.attempts_count(private.attempt_kind_count[], int)
  from public, anon, authenticated, service_role;


-- Adds n jobs completed at `completed_at` (negative: no longer completed then) to one shard.
create function private.job_completions_count(completed_at timestamptz, n int, to_shard int)
returns void
language plpgsql set search_path = ''
as $$
begin
  insert into private.job_completion_rollups as c (bucket_hours, bucket, shard, jobs_completed)
  select t.bucket_hours, date_bin(make_interval(hours => t.bucket_hours), completed_at, timestamptz '2000-01-01 00:00:00+00'),
         to_shard, n
    from (values (1::smallint), (6::smallint), (24::smallint), (168::smallint)) as t(bucket_hours)
  on conflict (bucket_hours, bucket, shard) do update
    set jobs_completed = c.jobs_completed + excluded.jobs_completed;
end;
$$;
revoke execute on function private.job_completions_count(timestamptz, int, int)
  from public, anon, authenticated, service_role;

-- From the latest body (20261208000140), plus the rollups. A counter's shard is folded once
-- its backend is gone (a live backend's few rows stay); a rollup row of any shard is folded as
-- soon as no transaction holds it, since rollups grow a row per bucket per backend: a writer
-- that comes back to a folded bucket starts a new row of its shard. A row a transaction holds
-- is skipped, not waited on; a writer that reaches a row while the fold holds it waits for
-- this one statement, then writes a new row.
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
          + (select count(*) from completions_gone))::int
$$;
comment on function public.metrics_counters_fold() is
  'Moves the counter shards of backends that no longer exist, and every rollup row no '
  'transaction holds, into shard 0; totals unchanged. Returns how many rows it folded.';

-- From the latest body (20261208000140), plus the rollups. The attempts are counted a week of
-- rows at a time, through the same private.attempts_count the triggers use, so the recount
-- and the triggers cannot disagree on what a column counts; a week's kinds are a few thousand
-- elements whatever the traffic.
create or replace function public.metrics_counters_recount() returns void
language plpgsql security definer set search_path = ''
as $$
declare
  v_week timestamptz;
begin
  lock table public.jobs, public.job_results, public.audit_log in share row exclusive mode;
  lock table private.metrics_counters, private.attempt_rollups, private.job_completion_rollups
    in exclusive mode;
  delete from private.metrics_counters;
  delete from private.attempt_rollups;
  delete from private.job_completion_rollups;

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
                   r.captcha_solved, r.error_code is not distinct from 'proxy_error')::private.attempt_kind as kind
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
  'Rebuilds every counter behind metrics_totals() and queue_stats(), and the charts'' '
  'rollups, from the raw tables.';

-- Writers wait while the trigger functions are replaced and the rollups filled from the rows
-- there now, so no row is counted twice or missed: the file is one transaction (supabase db
-- push wraps each), and the locks, taken in the recount's own order, hold to its end. The bodies are 0100's and
-- 0130's, each still one pass over its rows, now feeding private.attempts_count (job_results)
-- and private.job_completions_count (jobs) as well.
do $migration$
begin
  lock table public.jobs, public.job_results, public.audit_log in share row exclusive mode;

  create or replace function private.job_results_count_inserted() returns trigger
  language plpgsql security definer set search_path = ''
  as $$
  begin
    perform private.attempts_count(array(
      select row(g.kind, count(*))::private.attempt_kind_count
        from (select row(date_bin('1 hour', r.reported_at, timestamptz '2000-01-01 00:00:00+00'), r.directory_id,
                   r.outcome, r.confirmed, r.attempt > 1, r.captcha_kind is not null,
                   r.captcha_solved, r.error_code is not distinct from 'proxy_error')::private.attempt_kind as kind
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
                   r.captcha_solved, r.error_code is not distinct from 'proxy_error')::private.attempt_kind as kind
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
                   r1.captcha_solved, r1.error_code is not distinct from 'proxy_error')::private.attempt_kind as kind,
                     1 as n
                from new_rows r1
              union all
              select row(date_bin('1 hour', r2.reported_at, timestamptz '2000-01-01 00:00:00+00'), r2.directory_id,
                   r2.outcome, r2.confirmed, r2.attempt > 1, r2.captcha_kind is not null,
                   r2.captcha_solved, r2.error_code is not distinct from 'proxy_error')::private.attempt_kind,
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
    return null;
  end;
  $$;

  -- 0130's counts by status, plus each job's completion hour: a job leaves its old
  -- completed_at's buckets and enters its new one's (completed, reopened, completed again).
  create or replace function private.jobs_count_statuses() returns trigger
  language plpgsql security definer set search_path = ''
  as $$
  begin
    if tg_op = 'INSERT' then
      perform private.metrics_counters_add(jsonb_build_object('jobs.' || new.status::text, 1));
    elsif tg_op = 'DELETE' then
      perform private.metrics_counters_add(jsonb_build_object('jobs.' || old.status::text, -1));
    elsif old.status is distinct from new.status then
      perform private.metrics_counters_add(jsonb_build_object(
        'jobs.' || old.status::text, -1, 'jobs.' || new.status::text, 1));
    end if;
    if tg_op <> 'INSERT' and old.completed_at is not null
       and (tg_op = 'DELETE' or old.completed_at is distinct from new.completed_at) then
      perform private.job_completions_count(old.completed_at, -1, pg_backend_pid());
    end if;
    if tg_op <> 'DELETE' and new.completed_at is not null
       and (tg_op = 'INSERT' or old.completed_at is distinct from new.completed_at) then
      perform private.job_completions_count(new.completed_at, 1, pg_backend_pid());
    end if;
    return null;
  end;
  $$;

  create or replace function private.jobs_count_truncated() returns trigger
  language plpgsql security definer set search_path = ''
  as $$
  begin
    delete from private.metrics_counters m where m.name like 'jobs.%';
    delete from private.job_completion_rollups;
    return null;
  end;
  $$;

  -- 0130's trigger fired on a change of status only; a completion time can change with it.
  drop trigger jobs_counted_on_status_change on public.jobs;
  create trigger jobs_counted_on_status_change after update on public.jobs
    for each row
    when (old.status is distinct from new.status or old.completed_at is distinct from new.completed_at)
    execute function private.jobs_count_statuses();

  -- The rollups filled (and the counters rebuilt, to the same values) from the rows there now.
  perform public.metrics_counters_recount();
end
$migration$;
