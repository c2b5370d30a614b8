-- Why: the counters of 20261208000100/0130 keep one shard per backend pid and never delete
-- one, so private.metrics_counters grew with every pid the server ever used and
-- metrics_totals()/queue_stats() summed them all on every refresh. metrics_counters_fold()
-- (run by the orchestrator's stats loop) moves the shards of backends that are gone into
-- shard 0; metrics_counters_recount() rebuilds every counter from the raw tables (after a
-- restore, or a change to private.attempt_result), with the fill definitions of 0100/0130.

-- One statement: the dead shards' rows are deleted and their values added to shard 0
-- together, so a reader sees the totals before or after, never between. A row a live
-- transaction holds (a pid reused by a new backend) is skipped, not waited on: no deadlock
-- with a writer, and it is folded, with its committed delta, on a later round. A row is locked
-- at its newest committed version, so a delta committed after this statement began is not lost.
create function public.metrics_counters_fold() returns integer
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
  )
  select count(*)::int from gone
$$;
comment on function public.metrics_counters_fold() is
  'Moves the counter shards of backends that no longer exist into shard 0; totals unchanged. '
  'Returns how many shard rows it folded.';
revoke execute on function public.metrics_counters_fold() from public, anon, authenticated;
grant execute on function public.metrics_counters_fold() to service_role;

-- Writers wait while the counters are emptied and refilled (locks held to the end of the
-- caller's transaction), so no row is counted twice or missed. The raw tables are locked
-- first, in the order the writers take them, then the counters.
create function public.metrics_counters_recount() returns void
language plpgsql security definer set search_path = ''
as $$
begin
  lock table public.jobs, public.job_results, public.audit_log in share row exclusive mode;
  lock table private.metrics_counters in exclusive mode;
  delete from private.metrics_counters;

  -- 20261208000100's fill: grouped first, so the function runs once per kind of attempt.
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

  -- 20261208000130's fill.
  insert into private.metrics_counters (name, shard, value)
  select 'jobs.' || j.status::text, 0, count(*) from public.jobs j group by j.status;
end;
$$;
comment on function public.metrics_counters_recount() is
  'Rebuilds every counter behind metrics_totals() and queue_stats() from the raw tables.';
revoke execute on function public.metrics_counters_recount() from public, anon, authenticated;
grant execute on function public.metrics_counters_recount() to service_role;
