-- Why: the staff charts counted an attempt that ended waiting (needs_action: the customer has
-- to do something; an unconfirmed success: staff must review it; parked: waiting for an
-- email) as a failed try, so a directory whose recipe works but which asks for email
-- verification showed 0 % success. The rates are meant to show whether a directory's recipe
-- works, so they count only attempts that finished: succeeded (a confirmed success, or the
-- business was already listed) or failed (a transient or permanent error). The waiting ones
-- are counted beside it (`waiting`), so a pile-up is still seen, and skipped attempts (the
-- directory did not apply) are neither. The failure-rate alert and the Prometheus totals use
-- the same definition (private.attempt_result), and the alert no longer says "was 0 %" for a
-- directory that had no finished attempts before: it says "no earlier data".

-- What an attempt says about its directory's recipe, defined once.
create function private.attempt_result(outcome public.attempt_outcome, confirmed boolean)
returns text
language sql immutable set search_path = ''
as $$
  select case
    when outcome = 'success' and confirmed then 'succeeded'
    when outcome = 'already_listed' then 'succeeded'
    when outcome in ('transient_error', 'permanent_error') then 'failed'
    when outcome = 'success' then 'needs_review'
    when outcome in ('needs_action', 'parked') then 'waiting'
    else 'skipped'
  end
$$;
revoke execute on function private.attempt_result(public.attempt_outcome, boolean)
  from public, anon, authenticated;
grant execute on function private.attempt_result(public.attempt_outcome, boolean) to service_role;

-- The return type grows (finished, waiting, baseline_finished), so drop and create.
drop function public.staff_directory_success(int);
create function public.staff_directory_success(window_seconds int)
returns table (
  directory_id text,
  name text,
  attempts bigint,
  finished bigint,
  successes bigint,
  failures bigint,
  waiting bigint,
  success_rate numeric,
  baseline_attempts bigint,
  baseline_finished bigint,
  baseline_success_rate numeric
)
language plpgsql stable security definer set search_path = ''
as $$
declare
  v_since timestamptz;
begin
  perform private.require_staff();
  perform private.check_argument(coalesce(window_seconds between 3600 and 7776000, false),
    'window_seconds must be between 3600 (1 hour) and 7776000 (90 days)');
  v_since := now() - make_interval(secs => window_seconds);
  return query
  with tried as (
    select r.directory_id as id, r.reported_at >= v_since as recent,
           private.attempt_result(r.outcome, r.confirmed) as result
      from public.job_results r
     where r.reported_at >= v_since - interval '7 days'
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
   order by round(rc.ok::numeric / nullif(rc.done, 0), 4) nulls last, rc.n desc, rc.id;
end;
$$;
revoke execute on function public.staff_directory_success(int) from public, anon;
grant execute on function public.staff_directory_success(int) to authenticated;

-- As 20261129002100, with the rates over finished attempts only (min_attempts counts
-- finished ones too) and "no earlier data" where the baseline had none. No history still
-- counts as a 0 % failure rate for the jump itself: a new directory that fails is news.
create or replace function public.alerts_check_directory_failures(
  window_seconds int default 3600,
  baseline_seconds int default 604800,
  min_attempts int default 5,
  min_failure_rate numeric default 0.5,
  min_jump numeric default 0.3
) returns jsonb
language plpgsql security definer set search_path = ''
as $$
declare
  v_since timestamptz;
  v_jumped jsonb;
  v_names text;
  v_changed boolean;
begin
  perform private.check_argument(coalesce(window_seconds > 0 and baseline_seconds > 0, false),
    'window_seconds and baseline_seconds must be positive');
  perform private.check_argument(coalesce(min_attempts >= 1, false), 'min_attempts must be at least 1');
  v_since := now() - make_interval(secs => window_seconds);
  with finished as (
    select r.directory_id as id, r.reported_at >= v_since as recent,
           private.attempt_result(r.outcome, r.confirmed) = 'failed' as bad
      from public.job_results r
     where r.reported_at >= v_since - make_interval(secs => baseline_seconds)
       and private.attempt_result(r.outcome, r.confirmed) in ('succeeded', 'failed')
  ),
  recent as (
    select f.id, count(*) as n, count(*) filter (where f.bad) as bad
      from finished f where f.recent group by f.id
    having count(*) >= min_attempts
  ),
  baseline as (
    select f.id, count(*) as n, count(*) filter (where f.bad) as bad
      from finished f where not f.recent and f.id in (select recent.id from recent) group by f.id
  ),
  rates as (
    select rc.id, rc.n, rc.bad, round(rc.bad::numeric / rc.n, 4) as rate,
           round(bl.bad::numeric / nullif(bl.n, 0), 4) as baseline_rate
      from recent rc left join baseline bl on bl.id = rc.id
  )
  select jsonb_agg(jsonb_build_object('directory_id', rt.id, 'attempts', rt.n,
           'failures', rt.bad, 'failure_rate', rt.rate, 'baseline_failure_rate', rt.baseline_rate)
           order by rt.rate desc, rt.id),
         string_agg(format('%s (%s%% failed, %s)', rt.id, round(rt.rate * 100),
           coalesce('was ' || round(rt.baseline_rate * 100) || '%', 'no earlier data')),
           ', ' order by rt.rate desc, rt.id)
    into v_jumped, v_names
    from rates rt
   where rt.rate >= min_failure_rate and rt.rate - coalesce(rt.baseline_rate, 0) >= min_jump;

  if v_jumped is null then
    v_changed := public.alerts_clear('directory_failure_rate');
    return jsonb_build_object('alert', case when v_changed then 'cleared' else 'none' end,
      'directories', '[]'::jsonb);
  end if;
  v_changed := public.alerts_raise('directory_failure_rate',
    'Failure rate jumped for ' || v_names || ' — check their recipes.',
    jsonb_build_object('directories', v_jumped, 'window_seconds', window_seconds));
  return jsonb_build_object('alert', case when v_changed then 'raised' else 'open' end,
    'directories', v_jumped);
end;
$$;
revoke execute on function public.alerts_check_directory_failures(int, int, int, numeric, numeric)
  from public, anon, authenticated;
grant execute on function public.alerts_check_directory_failures(int, int, int, numeric, numeric)
  to service_role;

-- As 20261129001600, plus finished attempts by result, so Prometheus's failure-rate alert
-- divides by the same attempts the dashboard does (directorybolt_directory_attempts_finished).
create or replace function public.metrics_totals() returns jsonb
language sql stable security definer set search_path = ''
as $$
  select jsonb_build_object(
    'attempts_by_outcome', (
      select jsonb_object_agg(o.outcome, coalesce(c.n, 0))
        from unnest(enum_range(null::public.attempt_outcome)) as o(outcome)
        left join (select r.outcome, count(*) as n from public.job_results r group by r.outcome) c
          on c.outcome = o.outcome
    ),
    'attempts_finished', (
      select jsonb_build_object(
               'succeeded', count(*) filter (where private.attempt_result(r.outcome, r.confirmed) = 'succeeded'),
               'failed', count(*) filter (where private.attempt_result(r.outcome, r.confirmed) = 'failed'))
        from public.job_results r
    ),
    'retries', (select count(*) from public.job_results r where r.attempt > 1),
    'captchas_solved', (select count(*) from public.job_results r where r.captcha_solved),
    'captchas_failed', (
      select count(*) from public.job_results r
       where r.captcha_kind is not null and r.captcha_solved is not true
    ),
    'proxy_failures', (select count(*) from public.job_results r where r.error_code = 'proxy_error'),
    'jobs_completed', (select count(*) from public.audit_log a where a.action = 'job.completed')
  )
$$;
revoke execute on function public.metrics_totals() from public, anon, authenticated;
grant execute on function public.metrics_totals() to service_role;
