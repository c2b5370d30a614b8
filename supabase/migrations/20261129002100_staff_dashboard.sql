-- Why: the staff dashboard (portal /staff) reads the queue's state, its history for charts
-- and the alerts under the staff user's own JWT, never with the service role. These are the
-- staff-only reads that need aggregates RLS alone cannot express cheaply, the one staff write
-- the portal makes itself (acknowledging an alert; interventions on jobs go through the
-- orchestrator's staff API), the alert for directories whose failure rate jumped (recipe
-- drift), and a broadcast so open dashboards see alerts change without reloading.
--
-- Every staff_* function checks private.is_staff() and refuses others with 42501
-- (insufficient_privilege), as a denied table read would.

create function private.require_staff() returns void
language plpgsql stable set search_path = ''
as $$
begin
  if not private.is_staff() then
    raise exception 'staff only: the caller''s app_metadata.role is not staff'
      using errcode = '42501';
  end if;
end;
$$;
revoke execute on function private.require_staff() from public;
grant execute on function private.require_staff() to authenticated, service_role;

-- Who the staff caller is, as the audit log names them ('staff:<email>'), the same form
-- the orchestrator's staff API records from its X-Actor header.
create function private.staff_actor() returns text
language sql stable set search_path = ''
as $$
  select 'staff:' || coalesce(nullif(auth.jwt() ->> 'email', ''), auth.uid()::text, 'unknown')
$$;
revoke execute on function private.staff_actor() from public;
grant execute on function private.staff_actor() to authenticated, service_role;

-- Queue status for the dashboard header: queue_stats() (counts by status, oldest pending,
-- active workers, tiers) plus stale workers, the workers themselves, and why dispatch is
-- throttled (the open degradation alerts).
create function public.staff_queue_status(stale_seconds int default 120) returns jsonb
language plpgsql stable security definer set search_path = ''
as $$
begin
  perform private.require_staff();
  perform private.check_argument(coalesce(stale_seconds between 10 and 86400, false),
    'stale_seconds must be between 10 and 86400');
  return public.queue_stats() || jsonb_build_object(
    'stale_seconds', stale_seconds,
    'stale_workers', (
      select count(*) from public.workers w
       where w.current_job_id is not null
         and w.last_seen_at <= now() - make_interval(secs => stale_seconds)
         and w.last_seen_at > now() - interval '1 day'
    ),
    'workers', (
      select coalesce(jsonb_agg(jsonb_build_object(
               'id', w.id, 'last_seen_at', w.last_seen_at, 'current_job_id', w.current_job_id,
               'jobs_claimed', w.jobs_claimed,
               'stale', w.current_job_id is not null
                        and w.last_seen_at <= now() - make_interval(secs => stale_seconds))
               order by w.last_seen_at desc), '[]'::jsonb)
        from public.workers w
       where w.last_seen_at > now() - interval '1 day'
    ),
    'throttles', (
      select coalesce(jsonb_agg(jsonb_build_object(
               'tier', t.name, 'max_running', t.max_running,
               'throttled_max_running', t.throttled_max_running) order by t.name), '[]'::jsonb)
        from public.tiers t
       where t.throttled_max_running is not null
    ),
    'throttle_reasons', (
      select coalesce(jsonb_agg(a.message order by a.raised_at), '[]'::jsonb)
        from public.alerts a
       where a.cleared_at is null and a.kind in ('captcha_provider_down', 'proxy_pool_exhausted')
    ),
    'open_alerts', (select count(*) from public.alerts a where a.cleared_at is null)
  );
end;
$$;
revoke execute on function public.staff_queue_status(int) from public;
grant execute on function public.staff_queue_status(int) to authenticated;

-- The chart series: one row per time bucket (aligned to whole buckets since 2000-01-01 UTC,
-- so the same instant always falls in the same bucket), from the first bucket that overlaps
-- the window to the bucket holding now(). Attempts come from job_results (one row per
-- attempt), completions from jobs.completed_at.
create function public.staff_chart_series(window_seconds int, bucket_seconds int)
returns table (
  bucket_start timestamptz,
  jobs_completed bigint,
  attempts bigint,
  attempts_success bigint,
  attempts_needs_action bigint,
  attempts_transient_error bigint,
  attempts_permanent_error bigint,
  attempts_skipped bigint,
  retries bigint,
  captchas_solved bigint,
  captchas_failed bigint,
  proxy_failures bigint
)
language plpgsql stable security definer set search_path = ''
as $$
declare
  v_bucket interval;
  v_first timestamptz;
  v_last timestamptz;
begin
  perform private.require_staff();
  perform private.check_argument(coalesce(window_seconds between 3600 and 7776000, false),
    'window_seconds must be between 3600 (1 hour) and 7776000 (90 days)');
  perform private.check_argument(coalesce(bucket_seconds between 60 and 86400, false),
    'bucket_seconds must be between 60 and 86400');
  perform private.check_argument(window_seconds / bucket_seconds <= 1000,
    'window_seconds / bucket_seconds must be at most 1000 buckets');
  v_bucket := make_interval(secs => bucket_seconds);
  v_first := date_bin(v_bucket, now() - make_interval(secs => window_seconds), timestamptz '2000-01-01 00:00:00+00');
  v_last := date_bin(v_bucket, now(), timestamptz '2000-01-01 00:00:00+00');
  return query
  with buckets as (
    select g.b from generate_series(v_first, v_last, v_bucket) as g(b)
  ),
  attempts as (
    select date_bin(v_bucket, r.reported_at, timestamptz '2000-01-01 00:00:00+00') as b,
           count(*) as n,
           count(*) filter (where r.outcome = 'success') as success,
           count(*) filter (where r.outcome = 'needs_action') as needs_action,
           count(*) filter (where r.outcome = 'transient_error') as transient_error,
           count(*) filter (where r.outcome = 'permanent_error') as permanent_error,
           count(*) filter (where r.outcome = 'skipped') as skipped,
           count(*) filter (where r.attempt > 1) as retries,
           count(*) filter (where r.captcha_solved) as captchas_solved,
           count(*) filter (where r.captcha_kind is not null and r.captcha_solved is not true) as captchas_failed,
           count(*) filter (where r.error_code = 'proxy_error') as proxy_failures
      from public.job_results r
     where r.reported_at >= v_first
     group by 1
  ),
  completions as (
    select date_bin(v_bucket, j.completed_at, timestamptz '2000-01-01 00:00:00+00') as b, count(*) as n
      from public.jobs j
     where j.completed_at >= v_first
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
   order by bk.b;
end;
$$;
revoke execute on function public.staff_chart_series(int, int) from public;
grant execute on function public.staff_chart_series(int, int) to authenticated;

-- Success rate per directory over the window, beside the same directory's rate over the
-- week before it, so recipe drift (a directory that used to work and now fails) stands out.
-- A success counts only when confirmed; failures are transient or permanent errors.
create function public.staff_directory_success(window_seconds int)
returns table (
  directory_id text,
  name text,
  attempts bigint,
  successes bigint,
  failures bigint,
  success_rate numeric,
  baseline_attempts bigint,
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
  with recent as (
    select r.directory_id as id, count(*) as n,
           count(*) filter (where r.outcome = 'success' and r.confirmed) as ok,
           count(*) filter (where r.outcome in ('transient_error', 'permanent_error')) as bad
      from public.job_results r
     where r.reported_at >= v_since
     group by r.directory_id
  ),
  baseline as (
    select r.directory_id as id, count(*) as n,
           count(*) filter (where r.outcome = 'success' and r.confirmed) as ok
      from public.job_results r
     where r.reported_at >= v_since - interval '7 days' and r.reported_at < v_since
       and r.directory_id in (select recent.id from recent)
     group by r.directory_id
  )
  select rc.id, d.name, rc.n, rc.ok, rc.bad, round(rc.ok::numeric / rc.n, 4),
         coalesce(bl.n, 0), round(bl.ok::numeric / nullif(bl.n, 0), 4)
    from recent rc
    join public.directories d on d.id = rc.id
    left join baseline bl on bl.id = rc.id
   order by round(rc.ok::numeric / rc.n, 4), rc.n desc, rc.id;
end;
$$;
revoke execute on function public.staff_directory_success(int) from public;
grant execute on function public.staff_directory_success(int) to authenticated;

-- A staff user acknowledges an alert from the dashboard; the audit log names them.
create function public.staff_alerts_acknowledge(alert_id bigint) returns public.alerts
language plpgsql security definer set search_path = ''
as $$
begin
  perform private.require_staff();
  return public.alerts_acknowledge(staff_alerts_acknowledge.alert_id, private.staff_actor());
end;
$$;
revoke execute on function public.staff_alerts_acknowledge(bigint) from public;
grant execute on function public.staff_alerts_acknowledge(bigint) to authenticated;

-- Directories whose failure rate jumped: over the recent window at least `min_attempts`
-- attempts, a failure rate of at least `min_failure_rate`, and at least `min_jump` above the
-- same directory's rate over the baseline period before it (no history counts as 0). One
-- alert (kind directory_failure_rate) names all of them; it is cleared when none is left.
-- Run periodically by the orchestrator (service role); idempotent, so replicas may all run it.
create function public.alerts_check_directory_failures(
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
    select r.directory_id as id, count(*) as n,
           count(*) filter (where r.outcome in ('transient_error', 'permanent_error')) as bad
      from public.job_results r
     where r.reported_at >= v_since
     group by r.directory_id
    having count(*) >= min_attempts
  ),
  baseline as (
    select r.directory_id as id, count(*) as n,
           count(*) filter (where r.outcome in ('transient_error', 'permanent_error')) as bad
      from public.job_results r
     where r.reported_at >= v_since - make_interval(secs => baseline_seconds)
       and r.reported_at < v_since
       and r.directory_id in (select recent.id from recent)
     group by r.directory_id
  ),
  rates as (
    select rc.id, rc.n, rc.bad, round(rc.bad::numeric / rc.n, 4) as rate,
           coalesce(round(bl.bad::numeric / nullif(bl.n, 0), 4), 0) as baseline_rate
      from recent rc left join baseline bl on bl.id = rc.id
  )
  select jsonb_agg(jsonb_build_object('directory_id', rt.id, 'attempts', rt.n,
           'failures', rt.bad, 'failure_rate', rt.rate, 'baseline_failure_rate', rt.baseline_rate)
           order by rt.rate desc, rt.id),
         string_agg(format('%s (%s%% failed, was %s%%)', rt.id, round(rt.rate * 100),
           round(rt.baseline_rate * 100)), ', ' order by rt.rate desc, rt.id)
    into v_jumped, v_names
    from rates rt
   where rt.rate >= min_failure_rate and rt.rate - rt.baseline_rate >= min_jump;

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
revoke execute on function public.alerts_check_directory_failures(int, int, int, numeric, numeric) from public;
grant execute on function public.alerts_check_directory_failures(int, int, int, numeric, numeric) to service_role;

-- The recent-window scans above go by directory and time.
create index job_results_directory_reported_idx on public.job_results (directory_id, reported_at);

-- Open dashboards refresh their alerts panel when an alert is raised, refreshed, cleared or
-- acknowledged (topic 'staff', which only staff may join).
create function private.broadcast_alert() returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
  perform realtime.send(
    jsonb_build_object('alert_id', new.id, 'kind', new.kind,
      'cleared', new.cleared_at is not null, 'acknowledged', new.acknowledged_at is not null),
    'alert', 'staff', true);
  return null;
end;
$$;
revoke execute on function private.broadcast_alert() from public;
create trigger alerts_broadcast after insert or update on public.alerts
  for each row execute function private.broadcast_alert();
