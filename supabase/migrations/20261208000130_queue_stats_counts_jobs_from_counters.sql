-- Why: queue_stats() (/healthz's and /metrics' queue depth, the staff overview, the CLI)
-- counted every job ever enqueued by status on each call; a year holds a million of them
-- (bench/scale, issue 16). The counts by status are now counters kept by row triggers on
-- jobs in the transaction that changes a job's status (the counters of migration
-- 20261208000100: exact, durable, no cron), and queue_stats() sums them.

create function private.jobs_count_statuses() returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
  if tg_op = 'INSERT' then
    perform private.metrics_counters_add(jsonb_build_object('jobs.' || new.status::text, 1));
  elsif tg_op = 'DELETE' then
    perform private.metrics_counters_add(jsonb_build_object('jobs.' || old.status::text, -1));
  else
    perform private.metrics_counters_add(jsonb_build_object(
      'jobs.' || old.status::text, -1, 'jobs.' || new.status::text, 1));
  end if;
  return null;
end;
$$;
revoke execute on function private.jobs_count_statuses() from public, anon, authenticated;

create function private.jobs_count_truncated() returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
  delete from private.metrics_counters m where m.name like 'jobs.%';
  return null;
end;
$$;
revoke execute on function private.jobs_count_truncated() from public, anon, authenticated;

-- One statement, holding the lock to its end, so no status change is missed or counted twice.
do $$
begin
  lock table public.jobs in share row exclusive mode;
  create trigger jobs_counted_on_insert after insert on public.jobs
    for each row execute function private.jobs_count_statuses();
  create trigger jobs_counted_on_status_change after update on public.jobs
    for each row when (old.status is distinct from new.status)
    execute function private.jobs_count_statuses();
  create trigger jobs_counted_on_delete after delete on public.jobs
    for each row execute function private.jobs_count_statuses();
  create trigger jobs_counted_on_truncate after truncate on public.jobs
    for each statement execute function private.jobs_count_truncated();
  insert into private.metrics_counters (name, shard, value)
  select 'jobs.' || j.status::text, 0, count(*) from public.jobs j group by j.status;
end
$$;

-- From the latest body (20261206000220); only 'jobs' changes: read from the counters.
create or replace function public.queue_stats() returns jsonb
language sql stable security definer set search_path = ''
as $$
  with attempts as (
    select r.attempt, r.outcome, r.error_code, r.captcha_kind, r.captcha_solved
      from public.job_results r
     where r.reported_at > now() - interval '1 hour'
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
           where j.status in ('pending', 'in_progress', 'paused', 'waiting')
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
    'attempts_last_hour', (select count(*) from attempts),
    'retry_rate', (
      select coalesce(round(count(*) filter (where a.attempt > 1)::numeric / nullif(count(*), 0), 4), 0)
        from attempts a
    ),
    'captchas_solved_last_hour', (select count(*) from attempts a where a.captcha_solved),
    'captchas_failed_last_hour', (
      select count(*) from attempts a where a.captcha_kind is not null and not a.captcha_solved
    ),
    'proxy_failures_last_hour', (
      select count(*) from attempts a where a.error_code = 'proxy_error'
    )
  )
$$;
revoke execute on function public.queue_stats() from public, anon, authenticated;
grant execute on function public.queue_stats() to service_role;
