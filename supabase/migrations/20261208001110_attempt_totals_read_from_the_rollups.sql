-- Why: every attempt report wrote each of its totals twice: once per bucket size and
-- directory in private.attempt_rollups (the charts, 20261208001000) and once more per counter
-- name in private.metrics_counters (metrics_totals(), 20261208000100): up to six more rows
-- per report, and a call of private.attempt_counter_names per kind of attempt (issue 16,
-- the queue's write cost, bench/queue). The rollups' all-directories rows of one bucket size
-- already hold every one of those totals, exact and in the same transaction (every attempt
-- has a reported_at, so every attempt is in exactly one week's row), so metrics_totals()
-- now sums them (one row per week per unfolded shard) and the attempts no longer write
-- metrics counters. jobs_completed and the jobs' statuses stay counters (audit_log, jobs).
-- metrics_counters_fold() and metrics_counters_recount() need no change: the fold already
-- moves rollup rows, and the recount rebuilds the rollups through private.attempts_count.
-- private.attempt_counter_names is no longer called by a trigger; it stays (bench/scale's
-- seed uses it against older schemas).

-- From the latest body (20261208001000), without the second insert into metrics_counters.
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
end;
$$;

-- From the latest body (20261208000100): the same keys and values; the attempts' totals
-- from the rollups' all-directories weekly rows, the jobs completed from the counters.
create or replace function public.metrics_totals() returns jsonb
language sql stable security definer set search_path = ''
as $$
  with a as (
    select coalesce(sum(r.outcome_success), 0)::bigint as success,
           coalesce(sum(r.outcome_needs_action), 0)::bigint as needs_action,
           coalesce(sum(r.outcome_transient_error), 0)::bigint as transient_error,
           coalesce(sum(r.outcome_permanent_error), 0)::bigint as permanent_error,
           coalesce(sum(r.outcome_skipped), 0)::bigint as skipped,
           coalesce(sum(r.outcome_parked), 0)::bigint as parked,
           coalesce(sum(r.outcome_already_listed), 0)::bigint as already_listed,
           coalesce(sum(r.result_succeeded), 0)::bigint as succeeded,
           coalesce(sum(r.result_failed), 0)::bigint as failed,
           coalesce(sum(r.retries), 0)::bigint as retries,
           coalesce(sum(r.captchas_solved), 0)::bigint as captchas_solved,
           coalesce(sum(r.captchas_failed), 0)::bigint as captchas_failed,
           coalesce(sum(r.proxy_failures), 0)::bigint as proxy_failures
      from private.attempt_rollups r
     where r.bucket_hours = 168 and r.directory_id = ''
  )
  select jsonb_build_object(
    'attempts_by_outcome', jsonb_build_object(
      'success', a.success, 'needs_action', a.needs_action,
      'transient_error', a.transient_error, 'permanent_error', a.permanent_error,
      'skipped', a.skipped, 'parked', a.parked, 'already_listed', a.already_listed),
    'attempts_finished', jsonb_build_object('succeeded', a.succeeded, 'failed', a.failed),
    'retries', a.retries,
    'captchas_solved', a.captchas_solved,
    'captchas_failed', a.captchas_failed,
    'proxy_failures', a.proxy_failures,
    'jobs_completed', coalesce((select sum(m.value)::bigint from private.metrics_counters m
                                 where m.name = 'jobs_completed'), 0)
  )
    from a
$$;

-- The attempts' counter rows go, with no report between: the file is one transaction
-- (supabase db push wraps each), and the lock, which waits for the writers of job_results,
-- holds to its end. Only the few counter rows are deleted: milliseconds at any size.
do $migration$
begin
  lock table public.job_results in share row exclusive mode;
  delete from private.metrics_counters m
   where m.name like 'attempts%' or m.name in ('retries', 'captchas_solved', 'captchas_failed',
                                               'proxy_failures');
end
$migration$;
