-- Why: metrics_totals() (/metrics, refreshed every few seconds by the orchestrator) counted
-- every row of job_results five times and every row of audit_log once, so its cost grew with
-- the year: 15x an empty database's at 1/100 of a year (bench/scale, issue 16). The totals are
-- now kept in private.metrics_counters by statement-level triggers on the tables themselves,
-- in the same transaction as the rows they count: exact, durable across restarts, and never
-- behind (no cron). metrics_totals() sums a few hundred counter rows instead.
--
-- Each backend adds to its own rows (shard = its pid): two transactions running at once never
-- share a pid, so the counters add no lock contention and no deadlock between concurrent
-- attempt reports. A shard row is never deleted, so the read sums at most one row per pid the
-- server ever used per counter.

create table private.metrics_counters (
  name text not null,
  shard int not null,
  value bigint not null default 0,
  primary key (name, shard)
);
comment on table private.metrics_counters is
  'Running totals behind metrics_totals(), kept by triggers on job_results and audit_log in the '
  'transactions that write them; a counter''s value is the sum over its shards (one per backend pid).';
revoke all on table private.metrics_counters from public, anon, authenticated, service_role;

-- The counters a kind of attempt adds to: the same definitions metrics_totals() used to
-- count. Called once per kind (rows grouped by these six values), never once per row.
create function private.attempt_counter_names(
  outcome public.attempt_outcome, confirmed boolean, is_retry boolean, has_captcha boolean,
  captcha_solved boolean, proxy_failed boolean
) returns setof text
language sql immutable set search_path = ''
as $$
  select 'attempts.' || outcome::text
  union all
  select 'attempts_finished.' || private.attempt_result(outcome, confirmed)
   where private.attempt_result(outcome, confirmed) in ('succeeded', 'failed')
  union all select 'retries' where is_retry
  union all select 'captchas_solved' where captcha_solved
  union all select 'captchas_failed' where has_captcha and captcha_solved is not true
  union all select 'proxy_failures' where proxy_failed
$$;
revoke execute on function private.attempt_counter_names(
  public.attempt_outcome, boolean, boolean, boolean, boolean, boolean)
  from public, anon, authenticated;

-- Adds deltas (name, delta) to this backend's shard; names in order, so one transaction's
-- locks on its own rows are always taken in the same order.
create function private.metrics_counters_add(deltas jsonb) returns void
language sql security definer set search_path = ''
as $$
  insert into private.metrics_counters as m (name, shard, value)
  select d.key, pg_backend_pid(), d.value::bigint
    from jsonb_each_text(deltas) d
   where d.value::bigint <> 0
   order by d.key
  on conflict (name, shard) do update set value = m.value + excluded.value
$$;
revoke execute on function private.metrics_counters_add(jsonb) from public, anon, authenticated, service_role;

create function private.job_results_count_inserted() returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
  perform private.metrics_counters_add(coalesce((
    select jsonb_object_agg(c.name, c.n) from (
      select k.name, sum(g.n) as n
        from (select r.outcome, r.confirmed, r.attempt > 1 as is_retry,
                     r.captcha_kind is not null as has_captcha, r.captcha_solved,
                     r.error_code is not distinct from 'proxy_error' as proxy_failed,
                     1 as n
                from new_rows r) g,
             lateral private.attempt_counter_names(g.outcome, g.confirmed, g.is_retry,
                                                   g.has_captcha, g.captcha_solved,
                                                   g.proxy_failed) k(name)
       group by k.name) c), '{}'));
  return null;
end;
$$;

create function private.job_results_count_deleted() returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
  perform private.metrics_counters_add(coalesce((
    select jsonb_object_agg(c.name, -c.n) from (
      select k.name, sum(g.n) as n
        from (select r.outcome, r.confirmed, r.attempt > 1 as is_retry,
                     r.captcha_kind is not null as has_captcha, r.captcha_solved,
                     r.error_code is not distinct from 'proxy_error' as proxy_failed,
                     1 as n
                from old_rows r) g,
             lateral private.attempt_counter_names(g.outcome, g.confirmed, g.is_retry,
                                                   g.has_captcha, g.captcha_solved,
                                                   g.proxy_failed) k(name)
       group by k.name) c), '{}'));
  return null;
end;
$$;

create function private.job_results_count_updated() returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
  perform private.metrics_counters_add(coalesce((
    select jsonb_object_agg(c.name, c.n) from (
      select k.name, sum(g.n) as n
        from (select r.outcome, r.confirmed, r.attempt > 1 as is_retry,
                     r.captcha_kind is not null as has_captcha, r.captcha_solved,
                     r.error_code is not distinct from 'proxy_error' as proxy_failed,
                     r.sign as n
                from (select 1 as sign, r1.* from new_rows r1 union all select -1, r2.* from old_rows r2) r) g,
             lateral private.attempt_counter_names(g.outcome, g.confirmed, g.is_retry,
                                                   g.has_captcha, g.captcha_solved,
                                                   g.proxy_failed) k(name)
       group by k.name) c), '{}'));
  return null;
end;
$$;

-- A truncate (tests, a restore) empties the table; its counters start again from zero.
create function private.job_results_count_truncated() returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
  delete from private.metrics_counters m
   where m.name like 'attempts%' or m.name in ('retries', 'captchas_solved', 'captchas_failed',
                                               'proxy_failures');
  return null;
end;
$$;

-- audit_log is append-only (its own triggers refuse update, delete and truncate).
create function private.audit_log_count_inserted() returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
  perform private.metrics_counters_add(jsonb_build_object(
    'jobs_completed', (select count(*) from new_rows a where a.action = 'job.completed')));
  return null;
end;
$$;

revoke execute on function private.job_results_count_inserted() from public, anon, authenticated;
revoke execute on function private.job_results_count_deleted() from public, anon, authenticated;
revoke execute on function private.job_results_count_updated() from public, anon, authenticated;
revoke execute on function private.job_results_count_truncated() from public, anon, authenticated;
revoke execute on function private.audit_log_count_inserted() from public, anon, authenticated;

-- Writers wait while the triggers are created and the counters filled from the rows there
-- now, so no row is counted twice or missed: one statement (the migration runner does not
-- wrap a file in a transaction), holding the lock to its end.
do $$
begin
  lock table public.job_results, public.audit_log in share row exclusive mode;

  create trigger job_results_counted_on_insert after insert on public.job_results
    referencing new table as new_rows for each statement
    execute function private.job_results_count_inserted();
  create trigger job_results_counted_on_update after update on public.job_results
    referencing new table as new_rows old table as old_rows for each statement
    execute function private.job_results_count_updated();
  create trigger job_results_counted_on_delete after delete on public.job_results
    referencing old table as old_rows for each statement
    execute function private.job_results_count_deleted();
  create trigger job_results_counted_on_truncate after truncate on public.job_results
    for each statement execute function private.job_results_count_truncated();
  create trigger audit_log_counted_on_insert after insert on public.audit_log
    referencing new table as new_rows for each statement
    execute function private.audit_log_count_inserted();

  -- Grouped first, so the function runs once per kind of attempt, not once per row.
  insert into private.metrics_counters (name, shard, value)
  select k.name, 0, sum(g.n)
    from (select r.outcome, r.confirmed, r.attempt > 1 as is_retry,
                 r.captcha_kind is not null as has_captcha, r.captcha_solved,
                 r.error_code is not distinct from 'proxy_error' as proxy_failed, count(*) as n
            from public.job_results r
           group by 1, 2, 3, 4, 5, 6) g,
         lateral private.attempt_counter_names(g.outcome, g.confirmed, g.is_retry, g.has_captcha,
                                               g.captcha_solved, g.proxy_failed) k(name)
   group by k.name;
  insert into private.metrics_counters (name, shard, value)
  select 'jobs_completed', 0, count(*) from public.audit_log a where a.action = 'job.completed';
end
$$;

-- From the latest body (20261207000100): the same keys and values, read from the counters.
create or replace function public.metrics_totals() returns jsonb
language sql stable security definer set search_path = ''
as $$
  with c as (
    select m.name, sum(m.value)::bigint as n from private.metrics_counters m group by m.name
  )
  select jsonb_build_object(
    'attempts_by_outcome', (
      select jsonb_object_agg(o.outcome, coalesce(c.n, 0))
        from unnest(enum_range(null::public.attempt_outcome)) as o(outcome)
        left join c on c.name = 'attempts.' || o.outcome::text
    ),
    'attempts_finished', jsonb_build_object(
      'succeeded', coalesce((select c.n from c where c.name = 'attempts_finished.succeeded'), 0),
      'failed', coalesce((select c.n from c where c.name = 'attempts_finished.failed'), 0)),
    'retries', coalesce((select c.n from c where c.name = 'retries'), 0),
    'captchas_solved', coalesce((select c.n from c where c.name = 'captchas_solved'), 0),
    'captchas_failed', coalesce((select c.n from c where c.name = 'captchas_failed'), 0),
    'proxy_failures', coalesce((select c.n from c where c.name = 'proxy_failures'), 0),
    'jobs_completed', coalesce((select c.n from c where c.name = 'jobs_completed'), 0)
  )
$$;
revoke execute on function public.metrics_totals() from public, anon, authenticated;
grant execute on function public.metrics_totals() to service_role;
