-- The staff dashboard's reads and its one write: queue status, chart series, success per
-- directory and acknowledging an alert are for staff only (customers and anon refused);
-- the numbers match a known scenario; the directory failure-rate alert is raised, kept and
-- cleared; alert changes are broadcast on the staff topic.
begin;
set search_path = public, extensions;
select plan(38);

select directories_sync($$[
  {"id": "dir-a", "name": "A", "homepage": "http://127.0.0.1:9/a", "tier": "starter", "priority": 1, "mode": "auto", "enabled": true},
  {"id": "dir-b", "name": "B", "homepage": "http://127.0.0.1:9/b", "tier": "starter", "priority": 2, "mode": "auto", "enabled": true},
  {"id": "dir-c", "name": "C", "homepage": "http://127.0.0.1:9/c", "tier": "starter", "priority": 3, "mode": "auto", "enabled": true}
]$$::jsonb) \gset

-- J1: worked and completed: 4 attempts, one a retry, two captchas (one failed), one proxy error.
select id as j1 from jobs_enqueue(dev.create_paid_order('one@example.com', 'starter')) \gset
select lease_token as t1 from jobs_next('worker-1', 300) \gset
select jobs_report_attempt(job_id => :'j1', lease_token => :'t1',
  report => '{"directory_id": "dir-a", "attempt": 1, "outcome": "success", "confirmed": true, "captcha_kind": "image", "captcha_solved": true}') \gset
select jobs_report_attempt(job_id => :'j1', lease_token => :'t1',
  report => '{"directory_id": "dir-b", "attempt": 1, "outcome": "transient_error", "error_code": "proxy_error", "captcha_kind": "recaptcha_v2", "captcha_solved": false}') \gset
select jobs_report_attempt(job_id => :'j1', lease_token => :'t1',
  report => '{"directory_id": "dir-b", "attempt": 2, "outcome": "success", "confirmed": true}') \gset
select jobs_report_attempt(job_id => :'j1', lease_token => :'t1',
  report => '{"directory_id": "dir-c", "attempt": 1, "outcome": "permanent_error", "error_code": "site_down"}') \gset
select jobs_complete(:'j1', :'t1') \gset
-- The site_down attempt happened five hours ago (history for the chart buckets).
update job_results set reported_at = now() - interval '5 hours' where job_id = :'j1' and directory_id = 'dir-c';
-- J2 in progress with worker-2, which then went silent (stale); J3 pending.
select id as j2 from jobs_enqueue(dev.create_paid_order('two@example.com', 'starter')) \gset
select id as claimed2 from jobs_next('worker-2', 300) \gset
update workers set last_seen_at = now() - interval '10 minutes' where id = 'worker-2';
select id as j3 from jobs_enqueue(dev.create_paid_order('three@example.com', 'starter')) \gset
select alerts_raise('captcha_provider_down', 'Captcha solving is failing: 6 of 8') \gset
select tiers_throttle('enterprise', 1, 'orchestrator') \gset

-- Who is asking ------------------------------------------------------------------------
create temp table staff_functions (fn regprocedure primary key) on commit drop;
insert into staff_functions values
  ('public.staff_queue_status(int)'),
  ('public.staff_chart_series(int, int)'),
  ('public.staff_directory_success(int)'),
  ('public.staff_alerts_acknowledge(bigint)');
select ok(bool_and(not has_function_privilege('anon', fn, 'execute')), 'anon can execute none of the staff functions')
  from staff_functions;
select ok(bool_and(has_function_privilege('authenticated', fn, 'execute')),
  'signed-in users may call them (each checks for staff itself)')
  from staff_functions;
select ok(not has_function_privilege('authenticated',
  'public.alerts_check_directory_failures(int, int, int, numeric, numeric)', 'execute'),
  'signed-in users cannot run the failure-rate check');
select ok(has_function_privilege('service_role',
  'public.alerts_check_directory_failures(int, int, int, numeric, numeric)', 'execute'),
  'the service role runs the failure-rate check');

-- A customer (no staff role) is refused every staff function.
select set_config('request.jwt.claims', '{"role":"authenticated","sub":"00000000-0000-0000-0000-00000000000c","email":"one@example.com"}', true) \gset
set local role authenticated;
select throws_ok('select staff_queue_status()', '42501', NULL, 'a customer cannot read the queue status');
select throws_ok('select * from staff_chart_series(86400, 3600)', '42501', NULL, 'a customer cannot read chart series');
select throws_ok('select * from staff_directory_success(86400)', '42501', NULL, 'a customer cannot read directory success');
select throws_ok('select staff_alerts_acknowledge((select 1::bigint))', '42501', NULL, 'a customer cannot acknowledge an alert');
select is((select count(*)::int from alerts), 0, 'and a customer sees no alerts');
reset role;

-- A worker account is not staff either.
select set_config('request.jwt.claims', '{"role":"authenticated","sub":"00000000-0000-0000-0000-00000000000d","app_metadata":{"role":"worker"}}', true) \gset
set local role authenticated;
select throws_ok('select staff_queue_status()', '42501', NULL, 'a worker account cannot read the queue status');
reset role;

-- Staff --------------------------------------------------------------------------------
select set_config('request.jwt.claims', '{"role":"authenticated","sub":"00000000-0000-0000-0000-0000000000aa","email":"ann@directorybolt.test","app_metadata":{"role":"staff"}}', true) \gset
set local role authenticated;

select staff_queue_status() as status \gset
select is(:'status'::jsonb -> 'jobs',
  '{"pending": 1, "in_progress": 1, "waiting": 0, "paused": 0, "complete": 1, "failed": 0, "cancelled": 0}'::jsonb,
  'staff see job counts per status');
select is((:'status'::jsonb ->> 'stale_workers')::int, 1, 'the silent worker holding a job is stale');
select is((:'status'::jsonb ->> 'active_workers')::int, 1, 'one worker was seen in the last two minutes');
select is(jsonb_array_length(:'status'::jsonb -> 'workers'), 2, 'both workers are listed');
select is(:'status'::jsonb -> 'throttles', '[{"tier": "enterprise", "max_running": 2, "throttled_max_running": 1}]'::jsonb,
  'the throttled tier is reported');
select is(:'status'::jsonb -> 'throttle_reasons', '["Captcha solving is failing: 6 of 8"]'::jsonb,
  'with the degradation alert that explains it');
select is((:'status'::jsonb ->> 'open_alerts')::int, 1, 'one open alert');
select throws_ok('select staff_queue_status(1)', 'DB005', 'stale_seconds must be between 10 and 86400',
  'a silly staleness window is refused, naming the argument');

-- Chart series over 24 hours in hourly buckets.
create temp table series on commit drop as select * from staff_chart_series(86400, 3600);
select is((select count(*)::int from series), 25, '24 hours in hourly buckets is 25 buckets (both ends partial)');
select is((select sum(attempts)::int from series), 4, 'every attempt is counted once');
select is((select sum(retries)::int from series), 1, 'one retry');
select is((select sum(captchas_solved)::int from series), 1, 'one captcha solved');
select is((select sum(captchas_failed)::int from series), 1, 'one captcha failed');
select is((select sum(proxy_failures)::int from series), 1, 'one proxy failure');
select is((select sum(jobs_completed)::int from series), 1, 'one job completed');
select is((select attempts_permanent_error::int from series
            where bucket_start = date_bin('1 hour', now() - interval '5 hours', timestamptz '2000-01-01 00:00:00+00')),
  1, 'the site_down attempt sits in the bucket five hours ago');
select is((select attempts_success::int from series order by bucket_start desc limit 1), 2,
  'the two successes sit in the current bucket');
select throws_ok('select * from staff_chart_series(60, 60)', 'DB005', NULL, 'a window under an hour is refused');
select throws_ok('select * from staff_chart_series(7776000, 60)', 'DB005',
  'window_seconds / bucket_seconds must be at most 1000 buckets', 'too many buckets are refused');

select results_eq(
  $$ select directory_id, attempts::int, successes::int, failures::int, success_rate
       from staff_directory_success(86400) $$,
  $$ values ('dir-c', 1, 0, 1, 0.0000::numeric), ('dir-b', 2, 1, 1, 0.5000), ('dir-a', 1, 1, 0, 1.0000) $$,
  'success per directory, worst first');

select is((staff_alerts_acknowledge((select max(id) from alerts))).acknowledged_by,
  'staff:ann@directorybolt.test', 'staff acknowledge an alert under their own name');
reset role;
select is((select actor from audit_log where action = 'alert.acknowledged' order by id desc limit 1),
  'staff:ann@directorybolt.test', 'the acknowledgement is in the audit log with the staff identity');

-- The failure-rate check (service role) --------------------------------------------------
-- dir-b fails four more times now: 5 of its 6 attempts in the last hour failed, and it has
-- no history before that. (dir-c's one failure five hours ago is its baseline, not a jump.)
insert into job_results (job_id, directory_id, attempt, outcome, error_code)
select :'j1', 'dir-b', n, 'permanent_error', 'form_gone' from generate_series(3, 6) as n;
select is(alerts_check_directory_failures() ->> 'alert', 'raised', 'a directory whose failure rate jumped raises an alert');
select is((select details -> 'directories' -> 0 ->> 'directory_id' from alerts
            where kind = 'directory_failure_rate' and cleared_at is null), 'dir-b',
  'the alert names the directory');
select is(alerts_check_directory_failures() ->> 'alert', 'open', 'checking again keeps the one alert open');
select ok(exists(select 1 from realtime.messages m where m.topic = 'staff' and m.event = 'alert'
                  and m.payload ->> 'kind' = 'directory_failure_rate'),
  'the alert is broadcast to the staff topic');
-- Those failures become last week's history: the same rate now is no jump.
update job_results set reported_at = now() - interval '2 days' where directory_id = 'dir-b';
insert into job_results (job_id, directory_id, attempt, outcome, error_code)
select :'j1', 'dir-b', n, 'permanent_error', 'form_gone' from generate_series(7, 12) as n;
select is(alerts_check_directory_failures() ->> 'alert', 'cleared',
  'a directory that always failed this much is not a jump: the alert clears');
select is(alerts_check_directory_failures() ->> 'alert', 'none', 'and stays cleared');

select * from finish();
rollback;
