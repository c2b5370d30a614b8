-- Success and failure rates count only finished attempts (20261207000100): an attempt that
-- waits on the customer (needs_action), on a review (an unconfirmed success) or on an email
-- (parked) is neither a success nor a failure, in the dashboard's per-directory rates, in
-- the failure-rate alert and in the Prometheus totals. A directory with no finished attempts
-- before the window is said to have "no earlier data", never "was 0%". Staff only.
begin;
set search_path = public, extensions;
select plan(16);

select directories_sync($$[
  {"id": "dir-a", "name": "A", "homepage": "http://127.0.0.1:9/a", "tier": "starter", "priority": 1, "mode": "auto", "enabled": true},
  {"id": "dir-b", "name": "B", "homepage": "http://127.0.0.1:9/b", "tier": "starter", "priority": 2, "mode": "auto", "enabled": true},
  {"id": "dir-c", "name": "C", "homepage": "http://127.0.0.1:9/c", "tier": "starter", "priority": 3, "mode": "auto", "enabled": true},
  {"id": "dir-d", "name": "D", "homepage": "http://127.0.0.1:9/d", "tier": "starter", "priority": 4, "mode": "auto", "enabled": true},
  {"id": "dir-e", "name": "E", "homepage": "http://127.0.0.1:9/e", "tier": "starter", "priority": 5, "mode": "auto", "enabled": true},
  {"id": "dir-f", "name": "F", "homepage": "http://127.0.0.1:9/f", "tier": "starter", "priority": 6, "mode": "auto", "enabled": true}
]$$::jsonb) \gset
select id as j from jobs_enqueue(dev.create_paid_order('rates@example.com', 'starter')) \gset

-- dir-a: two confirmed successes, and three attempts still waiting (needs action, an
-- unconfirmed success for review, parked for an email): 100 % of what finished.
insert into job_results (job_id, directory_id, attempt, outcome, confirmed, action_required,
                         wait_kind, wait_seconds, resume_phase)
values (:'j', 'dir-a', 1, 'success', true, null, null, null, null),
       (:'j', 'dir-a', 2, 'success', true, null, null, null, null),
       (:'j', 'dir-a', 3, 'needs_action', false, 'confirm by email', null, null, null),
       (:'j', 'dir-a', 4, 'success', false, null, null, null, null),
       (:'j', 'dir-a', 5, 'parked', false, null, 'email', 3600, 'verify_email');
-- dir-b: one success, one error and three needs_action: 50 %, not 20 %.
insert into job_results (job_id, directory_id, attempt, outcome, confirmed, error_code, action_required)
values (:'j', 'dir-b', 1, 'success', true, null, null),
       (:'j', 'dir-b', 2, 'permanent_error', false, 'site_down', null),
       (:'j', 'dir-b', 3, 'needs_action', false, null, 'click the link'),
       (:'j', 'dir-b', 4, 'needs_action', false, null, 'click the link'),
       (:'j', 'dir-b', 5, 'needs_action', false, null, 'click the link');
-- dir-c: only waiting on the customer: no rate at all, not 0 %.
insert into job_results (job_id, directory_id, attempt, outcome, action_required)
values (:'j', 'dir-c', 1, 'needs_action', 'confirm by email');

-- The definition, once.
select results_eq(
  $$ select private.attempt_result(o::attempt_outcome, c)
       from (values ('success', true), ('already_listed', false), ('transient_error', false),
                    ('permanent_error', false), ('success', false), ('needs_action', false),
                    ('parked', false), ('skipped', false)) v(o, c) $$,
  $$ values ('succeeded'), ('succeeded'), ('failed'), ('failed'), ('needs_review'),
            ('waiting'), ('waiting'), ('skipped') $$,
  'each outcome is succeeded, failed, or neither (waiting on someone, skipped)');

-- A customer is still refused the rates.
select set_config('request.jwt.claims', '{"role":"authenticated","sub":"00000000-0000-0000-0000-00000000000c","email":"rates@example.com"}', true) \gset
set local role authenticated;
select throws_ok('select * from staff_directory_success(86400)', '42501', NULL,
  'a customer cannot read the success rates');
select throws_ok('select private.attempt_result(''success'', true)', '42501', NULL,
  'nor call the private definition');
reset role;

select set_config('request.jwt.claims', '{"role":"authenticated","sub":"00000000-0000-0000-0000-0000000000aa","email":"ann@directorybolt.test","app_metadata":{"role":"staff"}}', true) \gset
set local role authenticated;
select results_eq(
  $$ select directory_id, attempts::int, finished::int, successes::int, failures::int,
            waiting::int, success_rate
       from staff_directory_success(86400) $$,
  $$ values ('dir-b', 5, 2, 1, 1, 3, 0.5000::numeric),
            ('dir-a', 5, 2, 2, 0, 3, 1.0000::numeric),
            ('dir-c', 1, 0, 0, 0, 1, null::numeric) $$,
  'staff see the rate of finished attempts, the waiting ones apart, no rate where none finished');
select results_eq(
  $$ select baseline_attempts::int, baseline_finished::int, baseline_success_rate
       from staff_directory_success(86400) where directory_id = 'dir-b' $$,
  $$ values (0, 0, null::numeric) $$,
  'no attempts the week before: no baseline rate (not 0)');
reset role;

-- Last week, dir-b only waited on its customer: still no earlier data.
insert into job_results (job_id, directory_id, attempt, outcome, action_required, reported_at)
select :'j', 'dir-b', n, 'needs_action', 'click the link', now() - interval '3 days'
  from generate_series(6, 8) n;
set local role authenticated;
select results_eq(
  $$ select baseline_attempts::int, baseline_finished::int, baseline_success_rate
       from staff_directory_success(86400) where directory_id = 'dir-b' $$,
  $$ values (3, 0, null::numeric) $$,
  'a week of attempts that only waited is no earlier success rate either');
reset role;

-- The failure-rate alert (service role) -----------------------------------------------------
-- dir-d: five errors now, nothing before. dir-e: five errors now, three successes two days
-- ago. dir-f: four errors and ten attempts waiting on the customer (four finished is under
-- the five the check needs, whatever the waiting ones add).
insert into job_results (job_id, directory_id, attempt, outcome, error_code)
select :'j', d, n, 'permanent_error', 'form_gone'
  from unnest(array['dir-d', 'dir-e']) d, generate_series(1, 5) n;
insert into job_results (job_id, directory_id, attempt, outcome, confirmed, reported_at)
select :'j', 'dir-e', n, 'success', true, now() - interval '2 days' from generate_series(6, 8) n;
insert into job_results (job_id, directory_id, attempt, outcome, error_code)
select :'j', 'dir-f', n, 'permanent_error', 'form_gone' from generate_series(1, 4) n;
insert into job_results (job_id, directory_id, attempt, outcome, action_required)
select :'j', 'dir-f', n, 'needs_action', 'confirm' from generate_series(5, 14) n;

select is(alerts_check_directory_failures() ->> 'alert', 'raised', 'the jump raises the alert');
select is((select message from alerts where kind = 'directory_failure_rate' and cleared_at is null),
  'Failure rate jumped for dir-d (100% failed, no earlier data), dir-e (100% failed, was 0%) — check their recipes.',
  'a directory without earlier finished attempts says so; one that had them says what it was');
select is((select details -> 'directories' -> 0 -> 'baseline_failure_rate' from alerts
            where kind = 'directory_failure_rate' and cleared_at is null),
  'null'::jsonb, 'and its details carry no baseline rate (null, not 0)');
select ok((select message not like '%dir-f%' and message not like '%dir-b%' from alerts
            where kind = 'directory_failure_rate' and cleared_at is null),
  'attempts waiting on the customer neither make a failure rate nor reach the minimum');
-- dir-a's three waiting attempts are not failures: 0 % failed is no alert.
select ok((select message not like '%dir-a%' from alerts
            where kind = 'directory_failure_rate' and cleared_at is null),
  'a directory whose attempts only succeeded or wait is not failing');

-- The Prometheus totals count the same finished attempts.
select is(metrics_totals() -> 'attempts_finished',
  jsonb_build_object(
    'succeeded', (select count(*) from job_results where private.attempt_result(outcome, confirmed) = 'succeeded'),
    'failed', (select count(*) from job_results where private.attempt_result(outcome, confirmed) = 'failed')),
  'metrics_totals counts finished attempts by the same definition');
select is(metrics_totals() -> 'attempts_finished', '{"succeeded": 6, "failed": 15}'::jsonb,
  'six succeeded, fifteen failed; the twenty waiting attempts are in neither');
select ok(not has_function_privilege('authenticated', 'public.metrics_totals()', 'execute'),
  'signed-in users cannot read the totals');
select ok(not has_function_privilege('authenticated',
  'public.alerts_check_directory_failures(int, int, int, numeric, numeric)', 'execute'),
  'nor run the failure-rate check');
select ok(not has_function_privilege('anon', 'public.staff_directory_success(int)', 'execute'),
  'anon cannot read the success rates');

select * from finish();
rollback;
