-- Why: queue_stats() and provider_health() counted their windows (the last hour; the last
-- few minutes) from raw job_results on every call; they now read the minute rollups of
-- 20261209000100 (issue 16, bench/scale). And queue_stats()'s directories by status no longer
-- count paused jobs' directories: a paused job is no one's work until staff resume it, so
-- its directories are staff's backlog (counted among the jobs, 'paused'), not queue work,
-- and they pile up with the months (bench/scale at 1/10 of a year: 1,000 paused jobs, 31,000
-- directories read on every call, 4.5x a nearly empty database).

-- Attempts reported at or after `since` (within the minutes kept): the minute rows from the
-- first whole minute on, and the raw rows of the part-minute before it.
create function private.attempts_since(since timestamptz)
returns table (attempts bigint, retries bigint, captchas bigint, captchas_solved bigint,
               captchas_failed bigint, proxied bigint, proxy_failures bigint)
language plpgsql stable set search_path = ''
as $$
declare
  v_first_minute timestamptz := date_bin('1 minute', since, timestamptz '2000-01-01 00:00:00+00');
begin
  perform private.check_argument(
    coalesce(since >= now() - private.attempt_minutes_kept() + interval '1 minute', false),
    'since must be within the last 24 hours');
  if v_first_minute < since then
    v_first_minute := v_first_minute + interval '1 minute';
  end if;
  return query
  select coalesce(sum(x.attempts), 0)::bigint, coalesce(sum(x.retries), 0)::bigint,
         coalesce(sum(x.captchas), 0)::bigint, coalesce(sum(x.captchas_solved), 0)::bigint,
         coalesce(sum(x.captchas_failed), 0)::bigint, coalesce(sum(x.proxied), 0)::bigint,
         coalesce(sum(x.proxy_failures), 0)::bigint
    from (
      -- What each column counts is private.attempts_count's definition, applied to raw rows.
      select count(*) as attempts, count(*) filter (where r.attempt > 1) as retries,
             count(*) filter (where r.captcha_kind is not null) as captchas,
             count(*) filter (where r.captcha_solved) as captchas_solved,
             count(*) filter (where r.captcha_kind is not null and r.captcha_solved is not true)
               as captchas_failed,
             count(*) filter (where r.proxy is not null or r.error_code = 'proxy_error') as proxied,
             count(*) filter (where r.error_code = 'proxy_error') as proxy_failures
        from public.job_results r
       where r.reported_at >= since and r.reported_at < v_first_minute
      union all
      select m.attempts, m.retries, m.captchas, m.captchas_solved, m.captchas_failed, m.proxied,
             m.proxy_failures
        from private.attempt_minute_rollups m
       where m.bucket >= v_first_minute
    ) x;
end;
$$;
revoke execute on function private.attempts_since(timestamptz)
  from public, anon, authenticated, service_role;

-- From the latest body (20261208000130): the last hour from private.attempts_since, and the
-- directories of pending, in-progress and waiting jobs.
create or replace function public.queue_stats() returns jsonb
language sql stable security definer set search_path = ''
as $$
  with attempts as (
    select * from private.attempts_since(now() - interval '1 hour')
  )
  select jsonb_build_object(
    'jobs', (
      select jsonb_object_agg(s.status, coalesce(c.n, 0))
        from unnest(enum_range(null::public.job_status)) as s(status)
        left join (select substr(m.name, 6) as status, sum(m.value)::bigint as n
                     from private.metrics_counters m
                    where m.name like 'jobs.%'
                    group by 1) c
          on c.status = s.status::text
    ),
    'directories', (
      select jsonb_object_agg(s.status, coalesce(c.n, 0))
        from unnest(enum_range(null::public.job_directory_status)) as s(status)
        left join (
          select d.status, count(*) as n from public.job_directories d
            join public.jobs j on j.id = d.job_id
           where j.status in ('pending', 'in_progress', 'waiting')
           group by d.status
        ) c on c.status = s.status
    ),
    'tiers', (
      select jsonb_object_agg(t.name, jsonb_build_object('running', t.running,
               'max_running', t.max_running, 'effective_max_running', t.effective_max_running,
               'throttled', t.throttled_max_running is not null))
        from public.tiers t
    ),
    'oldest_pending_seconds', (
      select coalesce(extract(epoch from now() - min(j.created_at)), 0)::bigint
        from public.jobs j where j.status = 'pending'
    ),
    'active_workers', (
      select count(*) from public.workers w where w.last_seen_at > now() - interval '2 minutes'
    ),
    'completed_last_hour', (
      select count(*) from public.jobs j where j.completed_at > now() - interval '1 hour'
    ),
    'attempts_last_hour', (select a.attempts from attempts a),
    'retry_rate', (
      select coalesce(round(a.retries::numeric / nullif(a.attempts, 0), 4), 0) from attempts a
    ),
    'captchas_solved_last_hour', (select a.captchas_solved from attempts a),
    'captchas_failed_last_hour', (select a.captchas_failed from attempts a),
    'proxy_failures_last_hour', (select a.proxy_failures from attempts a)
  )
$$;

-- From the latest body (20261129001600): the same four counts, from private.attempts_since;
-- the window is now checked (the minutes kept bound it).
create or replace function public.provider_health(window_seconds int default 300) returns jsonb
language plpgsql stable security definer set search_path = ''
as $$
begin
  perform private.check_argument(coalesce(window_seconds between 1 and 86400, false),
    'window_seconds must be between 1 and 86400 (24 hours)');
  return (
    select jsonb_build_object(
             'captcha_attempts', a.captchas,
             'captcha_failures', a.captchas_failed,
             'proxy_attempts', a.proxied,
             'proxy_failures', a.proxy_failures)
      from private.attempts_since(now() - make_interval(secs => window_seconds)) a);
end;
$$;
