-- The counters behind metrics_totals() (20261208000100) and queue_stats()'s jobs (0130): no API role reads or writes them,
-- nor calls the functions that add to them; metrics_totals() stays the service role's; a
-- report through the real function moves the totals in the same transaction.
begin;
set search_path = public, extensions;
select plan(13);

select ok(not has_table_privilege(r, 'private.metrics_counters', p), r || ' has no ' || p || ' on the counters')
  from (values ('anon'), ('authenticated'), ('service_role')) roles(r),
       (values ('select'), ('insert'), ('update'), ('delete')) privs(p)
 where (r, p) in (('anon', 'select'), ('authenticated', 'select'), ('authenticated', 'update'),
                  ('service_role', 'select'), ('service_role', 'update'), ('service_role', 'delete'));
select ok(not has_function_privilege('authenticated', 'private.metrics_counters_add(jsonb)', 'execute')
          and not has_function_privilege('service_role', 'private.metrics_counters_add(jsonb)', 'execute'),
  'no API role may add to a counter directly');
select ok(not has_function_privilege('authenticated', 'public.metrics_totals()', 'execute')
          and not has_function_privilege('anon', 'public.metrics_totals()', 'execute'),
  'metrics_totals is not executable by anon or authenticated');
select ok(has_function_privilege('service_role', 'public.metrics_totals()', 'execute'),
  'metrics_totals is executable by service_role');
set local role authenticated;
select throws_ok('select metrics_totals()', '42501', NULL, 'a signed-in user calling metrics_totals is refused');
reset role;

-- Allowed path: one confirmed success, reported through the real function, as service_role.
select directories_sync($$[
  {"id": "dir-a", "name": "A", "homepage": "http://127.0.0.1:9/a", "tier": "starter", "priority": 1, "mode": "auto", "enabled": true}
]$$::jsonb) \gset
select (metrics_totals() -> 'attempts_by_outcome' ->> 'success')::int as before \gset
select j.id as job_id from jobs_enqueue(dev.create_paid_order('counted@example.com', 'starter')) j \gset
set local role service_role;
select lease_token from jobs_next(worker_id => 'w1', lease_seconds => 60) \gset
select jobs_report_attempt(:'job_id', :'lease_token',
  '{"directory_id": "dir-a", "attempt": 1, "outcome": "success", "confirmed": true}'::jsonb);
select is((metrics_totals() -> 'attempts_by_outcome' ->> 'success')::int, :before + 1,
  'a report as service_role counts its attempt in the same transaction');
reset role;
select ok(not has_function_privilege('authenticated', 'private.jobs_count_statuses()', 'execute')
          and not has_function_privilege('service_role', 'private.jobs_count_statuses()', 'execute'),
  'no API role may call the jobs counter directly');
select is((queue_stats() -> 'jobs' ->> 'in_progress')::bigint,
  (select count(*) from jobs where status = 'in_progress'),
  'the claimed job is counted in progress by queue_stats in the same transaction');

select * from finish();
rollback;
