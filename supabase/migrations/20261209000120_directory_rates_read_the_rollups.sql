-- Why: two per-directory reads still counted raw attempts (issue 16, bench/scale):
-- - staff_directory_success (the charts page's table) counted the part-hour at the start of
--   its window and the one up to now from raw rows: up to two hours of attempts ("charts
--   30 d" 2.3x a nearly empty database at 1/10 of a year). Its window now starts at the whole
--   hour, as the charts' series' first bucket does, and runs to now through the current
--   hour's rollup row: the table and the chart above it count the same attempts, and no raw
--   row is read.
-- - alerts_check_directory_failures (run by the orchestrator every minute or so) counted the
--   last hour and the week before it from raw rows: a week of attempts per check. It now
--   counts both through private.directory_attempts_between (20261208001010), exact at the
--   window's start; the baseline week starts at a whole hour. Raw rows read: one hour's at
--   most, split between the two part-hours around the window's start.

-- From the latest body (20261208001010); only v_since changes.
create or replace function public.staff_directory_success(window_seconds int)
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
  v_since := date_bin('1 hour', now() - make_interval(secs => window_seconds),
                      timestamptz '2000-01-01 00:00:00+00');
  return query
  with recent as (
    select t.directory_id as id, t.attempts as n, t.succeeded + t.failed as done,
           t.succeeded as ok, t.failed as bad, t.waiting as waits
      from private.directory_attempts_between(v_since, 'infinity') t
  ),
  baseline as (
    select t.directory_id as id, t.attempts as n, t.succeeded + t.failed as done,
           t.succeeded as ok
      from private.directory_attempts_between(v_since - interval '7 days', v_since) t
     where t.directory_id in (select recent.id from recent)
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

-- From the latest body (20261207000100); the counts come from directory_attempts_between.
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
  with recent as (
    select t.directory_id as id, t.succeeded + t.failed as n, t.failed as bad
      from private.directory_attempts_between(v_since, 'infinity') t
     where t.succeeded + t.failed >= min_attempts
  ),
  baseline as (
    select t.directory_id as id, t.succeeded + t.failed as n, t.failed as bad
      from private.directory_attempts_between(
             date_bin('1 hour', v_since - make_interval(secs => baseline_seconds),
                      timestamptz '2000-01-01 00:00:00+00'),
             v_since) t
     where t.directory_id in (select recent.id from recent)
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
