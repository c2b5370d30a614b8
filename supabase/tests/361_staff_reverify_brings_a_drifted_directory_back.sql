-- Directory health for staff (issue 17): staff_directory_health reads each directory's last
-- canary, baseline age, success and captcha rates from the rollups, median attempt time and
-- drift history; staff_directory_reverify adopts the latest canary signature, sets
-- verified_at, clears the drift (back in new jobs) and the alert once no directory is left
-- drifted; staff_directory_set_enabled switches a directory. Both actions are audited with the
-- staff identity; customers, workers and anon are refused all three.
begin;
set search_path = public, extensions;
select plan(31);

select directories_sync($$[
  {"id": "dir-a", "name": "A", "homepage": "http://127.0.0.1:9/a", "tier": "starter", "priority": 1, "mode": "auto", "enabled": true},
  {"id": "dir-b", "name": "B", "homepage": "http://127.0.0.1:9/b", "tier": "starter", "priority": 2, "mode": "auto", "enabled": true},
  {"id": "dir-c", "name": "C", "homepage": "http://127.0.0.1:9/c", "tier": "starter", "priority": 3, "mode": "auto", "enabled": true}
]$$::jsonb) \gset
update directories set enabled = false where id not in ('dir-a', 'dir-b', 'dir-c');
update tiers set directory_limit = 3 where name = 'starter';

-- History: a job's attempts (timings, a captcha) and canary runs, dir-b and dir-c drifted.
select id as job_1 from jobs_enqueue(dev.create_paid_order('one@example.com', 'starter')) \gset
select id as claimed, lease_token as token from jobs_next('worker-1', 300) \gset
select jobs_report_attempt(:'job_1', :'token',
  '{"directory_id": "dir-a", "attempt": 1, "outcome": "transient_error", "error_code": "timeout", "duration_ms": 3000, "captcha_kind": "image", "captcha_solved": false}') \gset
select jobs_report_attempt(:'job_1', :'token',
  '{"directory_id": "dir-a", "attempt": 2, "outcome": "success", "confirmed": true, "duration_ms": 1000, "captcha_kind": "image", "captcha_solved": true}') \gset
select jobs_report_attempt(:'job_1', :'token',
  '{"directory_id": "dir-b", "attempt": 1, "outcome": "permanent_error", "error_code": "site_down", "duration_ms": 2000}') \gset
select directories_record_canary('dir-a', '{"v": 1}'::jsonb, repeat('a', 64)) \gset
select directories_record_canary('dir-b', '{"v": 1}'::jsonb, repeat('1', 64)) \gset
select directories_record_canary('dir-b', '{"v": 2}'::jsonb, repeat('2', 64)) \gset
select directories_record_canary('dir-c', null, null, 'open', 'timed out') \gset
select is((select count(*)::int from directories where drifted_at is not null), 2, 'set-up: dir-b and dir-c are drifted');

create temp table staff_directory_functions (fn regprocedure primary key) on commit drop;
insert into staff_directory_functions values
  ('public.staff_directory_health()'),
  ('public.staff_directory_reverify(text, timestamptz)'),
  ('public.staff_directory_set_enabled(text, boolean)');
grant select on staff_directory_functions to anon, authenticated;
select ok(bool_and(not has_function_privilege('anon', fn, 'execute')), 'anon can execute none of them')
  from staff_directory_functions;
select ok(bool_and(has_function_privilege('authenticated', fn, 'execute')),
  'signed-in users may call them (each checks for staff itself)') from staff_directory_functions;

-- Refused ----------------------------------------------------------------------------------
select set_config('request.jwt.claims', '{"role":"authenticated","sub":"00000000-0000-0000-0000-00000000000c","email":"one@example.com"}', true) \gset
set local role authenticated;
select throws_ok('select * from staff_directory_health()', '42501', NULL, 'a customer cannot read directory health');
select throws_ok($$ select staff_directory_reverify('dir-b', now()) $$, '42501', NULL, 'a customer cannot re-verify a directory');
select throws_ok($$ select staff_directory_set_enabled('dir-a', false) $$, '42501', NULL, 'a customer cannot disable a directory');
reset role;
select set_config('request.jwt.claims', '{"role":"authenticated","sub":"00000000-0000-0000-0000-00000000000d","app_metadata":{"role":"worker"}}', true) \gset
set local role authenticated;
select throws_ok($$ select staff_directory_reverify('dir-b', now()) $$, '42501', NULL, 'a worker account cannot re-verify a directory');
reset role;
set local role anon;
select throws_ok($$ select staff_directory_set_enabled('dir-a', false) $$, '42501', NULL, 'anon cannot disable a directory');
reset role;
select results_eq($$ select count(*)::int, bool_and(enabled) from directories where id in ('dir-a', 'dir-b', 'dir-c') $$,
  $$ values (3, true) $$, 'the refused calls changed nothing');
select ok((select drifted_at is not null from directories where id = 'dir-b'), 'dir-b is still drifted');
select is_empty($$ select 1 from audit_log where actor like 'staff:%' $$, 'and wrote no audit row');

-- Health -----------------------------------------------------------------------------------
select set_config('request.jwt.claims', '{"role":"authenticated","sub":"00000000-0000-0000-0000-0000000000aa","email":"ann@directorybolt.test","app_metadata":{"role":"staff"}}', true) \gset
set local role authenticated;
create temp table health on commit drop as select * from staff_directory_health();
select results_eq($$ select directory_id from health where directory_id in ('dir-a', 'dir-b', 'dir-c') $$,
  $$ values ('dir-b'), ('dir-c'), ('dir-a') $$, 'drifted directories come first');
select results_eq($$ select attempts_7d::int, finished_7d::int, success_rate_7d, attempts_30d::int, success_rate_30d,
                            median_attempt_ms_30d, timed_attempts_30d, captcha_rate_30d, captcha_solved_rate_30d
                       from health where directory_id = 'dir-a' $$,
  $$ values (2, 2, 0.5000::numeric, 2, 0.5000::numeric, 2000, 2, 1.0000::numeric, 0.5000::numeric) $$,
  'dir-a: 2 finished attempts (a timeout, a success), median of 3000 and 1000 ms, both met a captcha, half solved');
select results_eq($$ select attempts_7d::int, success_rate_7d, median_attempt_ms_30d, captcha_rate_30d from health where directory_id = 'dir-b' $$,
  $$ values (1, 0.0000::numeric, 2000, 0.0000::numeric) $$, 'dir-b: one failed attempt, no captcha');
select results_eq($$ select last_canary_ok, canary_runs::int, drift_count::int, last_drift_at is not null, signature_digest
                       from health where directory_id = 'dir-b' $$,
  $$ values (false, 2, 1, true, repeat('1', 64)) $$, 'dir-b: last canary failed, two runs, one drift, the baseline is the first digest');
select results_eq($$ select last_canary_failed_step, last_canary_error, signed_at from health where directory_id = 'dir-c' $$,
  $$ values ('open', 'timed out', null::timestamptz) $$, 'dir-c: the failed step and its error, no baseline');
select results_eq($$ select last_canary_ok, drift_count::int, drifted_at, attempts_7d::int, success_rate_7d from health where directory_id = 'dir-a' $$,
  $$ values (true, 0, null::timestamptz, 2, 0.5000::numeric) $$, 'dir-a: no drift');

-- Re-verify --------------------------------------------------------------------------------
-- Every run here is this transaction's, at now(): the page saw them all.
select throws_ok($$ select staff_directory_reverify('dir-b', now() - interval '1 second') $$, 'DB002',
  NULL, 'a canary run newer than the one the page showed is not adopted unseen');
select throws_ok($$ select staff_directory_reverify('dir-b', null) $$, 'DB002',
  NULL, 'a page that showed no run cannot re-verify over runs it did not show');
select staff_directory_reverify('dir-b', now()) as verified \gset
reset role;
select is(:'verified'::jsonb ->> 'was_drifted', 'true', 're-verify reports the directory was drifted');
select results_eq($$ select drifted_at, verified_at = now(), signature_digest, signature from directories where id = 'dir-b' $$,
  $$ values (null::timestamptz, true, repeat('2', 64), '{"v": 2}'::jsonb) $$,
  'the drift is cleared, verified_at is now and the latest canary signature is the baseline');
select results_eq($$ select actor, action, directory_id, from_status, to_status, details ->> 'previous_digest' from audit_log where action = 'directory.reverified' $$,
  $$ values ('staff:ann@directorybolt.test', 'directory.reverified', 'dir-b', 'drifted', 'verified', repeat('1', 64)) $$,
  'the re-verify is audited with the staff identity and the baseline it replaced');
select results_eq($$ select message, details from alerts where kind = 'recipe_drift' and cleared_at is null $$,
  $$ values ('Recipe drift, out of new jobs until staff re-verify: C', '{"directories": ["dir-c"]}'::jsonb) $$,
  'the alert stays open for the directory still drifted, naming only it');
select id as job_2 from jobs_enqueue(dev.create_paid_order('two@example.com', 'starter')) \gset
select results_eq(format($$ select directory_id from job_directories where job_id = %L order by position $$, :'job_2'),
  $$ values ('dir-a'), ('dir-b') $$, 'the re-verified directory is back in new jobs (dir-c is still out)');
select is((directories_record_canary('dir-b', '{"v": 2}'::jsonb, repeat('2', 64)) ->> 'ok')::boolean, true,
  'the next canary with the adopted signature is ok');

set local role authenticated;
select staff_directory_reverify('dir-c', now()) as verified \gset
reset role;
select ok((select cleared_at is not null from alerts where kind = 'recipe_drift'), 'with no directory left drifted the alert is cleared');
select is((select signature_digest from directories where id = 'dir-c'), null,
  'a directory whose canary never read the page keeps no baseline (the next run sets it)');

-- Enable / disable -------------------------------------------------------------------------
set local role authenticated;
select staff_directory_set_enabled('dir-a', false) as changed \gset
select staff_directory_set_enabled('dir-a', false) as unchanged \gset
reset role;
select is((:'changed'::jsonb ->> 'changed') || '/' || (:'unchanged'::jsonb ->> 'changed'), 'true/false',
  'disabling changes the directory once; again is a no-op');
select results_eq($$ select actor, action, from_status, to_status from audit_log where directory_id = 'dir-a' and action like 'directory.%abled' $$,
  $$ values ('staff:ann@directorybolt.test', 'directory.disabled', 'enabled', 'disabled') $$, 'the change is audited once');
select id as job_3 from jobs_enqueue(dev.create_paid_order('three@example.com', 'starter')) \gset
select results_eq(format($$ select directory_id from job_directories where job_id = %L order by position $$, :'job_3'),
  $$ values ('dir-b'), ('dir-c') $$, 'a disabled directory is not picked for new jobs');
set local role authenticated;
select throws_ok($$ select staff_directory_set_enabled('no-such-dir', true) $$, 'DB003', 'directory no-such-dir not found',
  'an unknown directory is refused by name');
reset role;

select * from finish();
rollback;
