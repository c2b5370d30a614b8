-- The charts' rollups (20261208001000/1010): no API role, staff included, reads or writes
-- them or calls the functions that keep or read them; staff read them only through the
-- chart functions, which still refuse a customer; a report through the real function moves
-- them in the same transaction, and the chart shows it.
begin;
set search_path = public, extensions;
select plan(43);

select ok(not has_table_privilege(r, t, p), r || ' has no ' || p || ' on ' || t)
  from (values ('anon'), ('authenticated'), ('dbolt_staff'), ('service_role')) roles(r),
       (values ('private.attempt_rollups'), ('private.job_completion_rollups')) tables(t),
       (values ('select'), ('insert'), ('update'), ('delete')) privs(p);
select ok(bool_and(not has_function_privilege(r, f, 'execute')),
  'no API role may keep or read the rollups directly')
  from (values ('anon'), ('authenticated'), ('dbolt_staff'), ('service_role')) roles(r),
       (values ('private.attempts_count(private.attempt_kind_count[], int)'),
               ('private.job_completions_count(timestamptz, int, int)'),
               ('private.directory_attempts_between(timestamptz, timestamptz)')) fns(f);
select ok(has_function_privilege('authenticated', 'public.staff_chart_series(int, int)', 'execute')
          and has_function_privilege('authenticated', 'public.staff_directory_success(int)', 'execute'),
  'the chart functions are still callable by signed-in users (each checks for staff)');

-- Staff, directly: refused.
select set_config('request.jwt.claims', '{"role":"authenticated","sub":"00000000-0000-0000-0000-0000000000aa","app_metadata":{"role":"staff"}}', true) \gset
set local role dbolt_staff;
select throws_ok('select count(*) from private.attempt_rollups', '42501', NULL,
  'staff cannot read the rollups table');
select throws_ok($$select * from private.directory_attempts_between(now() - interval '1 day', 'infinity')$$,
  '42501', NULL, 'nor call the private reader');
reset role;

-- Allowed path: a report through the real function, as service_role, then the chart as staff.
select directories_sync($$[
  {"id": "dir-a", "name": "A", "homepage": "http://127.0.0.1:9/a", "tier": "starter", "priority": 1, "mode": "auto", "enabled": true}
]$$::jsonb) \gset
select j.id as job_id from jobs_enqueue(dev.create_paid_order('rolled@example.com', 'starter')) j \gset
set local role service_role;
select lease_token from jobs_next(worker_id => 'w1', lease_seconds => 60) \gset
select jobs_report_attempt(:'job_id', :'lease_token',
  '{"directory_id": "dir-a", "attempt": 1, "outcome": "success", "confirmed": true}'::jsonb) \gset
select jobs_complete(:'job_id', :'lease_token') \gset
reset role;
select is((select sum(attempts)::int from private.attempt_rollups
            where directory_id = 'dir-a' and bucket_hours = 1), 1,
  'the report is in its directory''s hour in the same transaction');
select is((select sum(jobs_completed)::int from private.job_completion_rollups where bucket_hours = 24), 1,
  'the completion is in its day');
set local role dbolt_staff;
select is((select sum(attempts_success)::int from staff_chart_series(86400, 3600)), 1,
  'staff see the attempt on the chart');
select is((select sum(jobs_completed)::int from staff_chart_series(2592000, 86400)), 1,
  'and the completion on the 30-day chart');
select is((select successes::int from staff_directory_success(86400) where directory_id = 'dir-a'), 1,
  'and the success in the directory''s rate');
select throws_ok('select * from staff_chart_series(86400, 1800)', 'DB005',
  'bucket_seconds must be a whole number of hours (3600, 7200, ... 86400)',
  'a bucket of less than an hour is refused, naming the argument');
reset role;

-- A customer is refused the charts still.
select set_config('request.jwt.claims', '{"role":"authenticated","sub":"00000000-0000-0000-0000-00000000000c","email":"rolled@example.com"}', true) \gset
set local role authenticated;
select throws_ok('select * from staff_chart_series(86400, 3600)', '42501', NULL,
  'a customer cannot read the chart series');
reset role;

select * from finish();
rollback;
