-- Live checks: a listing handed over with a URL gets its first check after the schedule's
-- first delay; workers claim due checks under a lease (a stale lease cannot report); each
-- report moves the directory (live, live_mismatch naming the field, not_found only at the
-- last check → not_live), is audited as the worker, and schedules the next check; a check
-- that could not be made is retried a bounded number of times; only the service role drives
-- it all, and a customer reads only their own checks' plain columns.
begin;
set search_path = public, extensions;
select plan(47);

select directories_sync($$[
  {"id": "dir-a", "name": "A", "homepage": "http://127.0.0.1:9/a", "tier": "starter", "priority": 1, "mode": "recipe",
   "recipe": {"steps": [{"goto": "http://127.0.0.1:9/a/submit"}], "phases": {"live_check": {"phone": ".tel"}}}, "enabled": true},
  {"id": "dir-b", "name": "B", "homepage": "http://127.0.0.1:9/b", "tier": "starter", "priority": 2, "mode": "auto", "enabled": true},
  {"id": "dir-c", "name": "C", "homepage": "http://127.0.0.1:9/c", "tier": "starter", "priority": 3, "mode": "auto", "enabled": true}
]$$::jsonb) \gset
update tiers set directory_limit = 2 where name = 'starter';

-- The schedule ---------------------------------------------------------------------------------
select throws_ok($$ select live_check_policy_set('{1 day, 1 hour}') $$, 'DB005', 'delays must be positive and increasing',
  'a schedule that goes backwards is refused, naming the rule');
select throws_ok($$ select live_check_policy_set('{}') $$, 'DB005', 'delays must hold 1 to 20 intervals',
  'an empty schedule is refused');
select is(live_check_policy_set('{1 hour, 1 day, 7 days}', '10 minutes', 2) ->> 'max_errors', '2',
  'the orchestrator sets the schedule (three checks; errors retried twice)');
select is((select count(*)::int from audit_log where action = 'live_check_policy.set'), 1, 'a changed schedule is audited');

select id as job_1, order_id as order_1 from jobs_enqueue(dev.create_paid_order('live@example.com', 'starter')) \gset
select user_id as user_1 from customers where email = 'live@example.com' \gset
select id as claimed, lease_token as token from jobs_next('worker-1', 300) \gset
select jobs_report_attempt(:'job_1', :'token',
  '{"directory_id": "dir-a", "attempt": 1, "outcome": "success", "confirmed": true, "listing_url": "http://127.0.0.1:9/a/listing/1"}') \gset
select jobs_report_attempt(:'job_1', :'token',
  '{"directory_id": "dir-b", "attempt": 1, "outcome": "success", "confirmed": true}') \gset

select results_eq(format($$ select directory_id, seq, due_at - now(), listing_url, checked_at from listing_checks where job_id = %L $$, :'job_1'),
  $$ values ('dir-a', 1, interval '1 hour', 'http://127.0.0.1:9/a/listing/1', null::timestamptz) $$,
  'a listing submitted with its URL gets its first check one delay later; one without a URL gets none');
select results_eq(format($$ select actor, directory_id, (details ->> 'seq')::int from audit_log where job_id = %L and action = 'listing_check.scheduled' $$, :'job_1'),
  $$ values ('system', 'dir-a', 1) $$, 'the schedule is audited');
update job_directories set listing_url = 'http://127.0.0.1:9/a/listing/1b' where job_id = :'job_1' and directory_id = 'dir-a';
select is((select count(*)::int from listing_checks where job_id = :'job_1'), 1, 'a listing is scheduled once, whatever changes on its row later');

-- Claiming --------------------------------------------------------------------------------------
select is_empty('select * from listing_checks_claim(''w-live'', 10, 60)', 'nothing is claimed before it is due');
update listing_checks set due_at = now() - interval '1 second' where job_id = :'job_1';
create temp table c1 on commit drop as select * from listing_checks_claim('w-live', 10, 60);
select results_eq($$ select directory_id, seq, last, listing_url, business ->> 'business_name' is not null, recipe from c1 $$,
  $$ values ('dir-a', 1, false, 'http://127.0.0.1:9/a/listing/1', true, '{"phone": ".tel"}'::jsonb) $$,
  'a due check is claimed with the business snapshot and the recipe''s live_check phase');
select is_empty('select * from listing_checks_claim(''w-other'', 10, 60)', 'a leased check is not claimed twice');
update listing_checks set lease_expires_at = now() - interval '1 second' where id = (select check_id from c1);
create temp table c1b on commit drop as select * from listing_checks_claim('w-live', 10, 60);
select isnt((select lease_token from c1b), (select lease_token from c1), 'an expired lease is claimed again with a new token');
select throws_ok($$ select listing_checks_report((select check_id from c1), (select lease_token from c1), 'live', 1) $$,
  'DB001', NULL, 'the old lease cannot report (DB001)');
select throws_ok($$ select listing_checks_report((select check_id from c1b), (select lease_token from c1b), 'live_mismatch', 0.6) $$,
  'DB005', 'mismatched_fields must name the fields of a live_mismatch, and only of a live_mismatch',
  'a mismatch must name its fields');
select throws_ok($$ select listing_checks_report((select check_id from c1b), (select lease_token from c1b), 'gone') $$,
  'DB005', 'result must be one of live, live_mismatch, not_found, error', 'an unknown result is refused, naming the field');
select throws_ok($$ select listing_checks_report(999999, gen_random_uuid(), 'live') $$, 'DB003', NULL, 'an unknown check is not found');

-- Not found before the last check: nothing moves, the next one is scheduled ---------------------
select is((listing_checks_report((select check_id from c1b), (select lease_token from c1b), 'not_found', null, '{}', '{}', 'HTTP 404', 404)).result,
  'not_found', 'a not-found is recorded');
select is((select status::text from job_directories where job_id = :'job_1' and directory_id = 'dir-a'), 'submitted',
  'a not-found before the last check leaves the directory submitted');
select results_eq(format($$ select seq, due_at - since, listing_url from listing_checks where job_id = %L and checked_at is null $$, :'job_1'),
  $$ values (2, interval '1 day', 'http://127.0.0.1:9/a/listing/1b') $$,
  'the next check is due at the schedule''s next delay from the hand-over, on the listing''s current URL');
select results_eq(format($$ select actor, from_status, to_status, details ->> 'result' from audit_log where job_id = %L and action = 'listing_check.reported' $$, :'job_1'),
  $$ values ('worker:w-live', 'submitted', 'submitted', 'not_found') $$, 'the check is audited as the worker');
select is((listing_checks_report((select check_id from c1b), (select lease_token from c1b), 'not_found')).seq, 1,
  'the same report resent is acknowledged');
select throws_ok($$ select listing_checks_report((select check_id from c1b), (select lease_token from c1b), 'live', 1) $$,
  'DB002', NULL, 'another result for a check already reported is refused (DB002)');

-- A check that could not be made is retried, a bounded number of times ---------------------------
update listing_checks set due_at = now() - interval '1 second' where job_id = :'job_1' and seq = 2;
create temp table c2 on commit drop as select * from listing_checks_claim('w-live', 10, 60);
select results_eq($$ select c.checked_at, c.errors, c.lease_token, c.due_at - now(), c.http_status
                      from listing_checks_report((select check_id from c2), (select lease_token from c2), 'error', null, '{}', '{}', 'HTTP 503', 503) c $$,
  $$ values (null::timestamptz, 1, null::uuid, interval '10 minutes', 503) $$,
  'an error leaves the check open, due again after the retry delay, its lease released');
update listing_checks set due_at = now() - interval '1 second' where job_id = :'job_1' and seq = 2;
create temp table c2b on commit drop as select * from listing_checks_claim('w-live', 10, 60);
select results_eq($$ select c.result, c.errors from listing_checks_report((select check_id from c2b), (select lease_token from c2b), 'error', null, '{}', '{}', 'timeout') c $$,
  $$ values ('error', 2) $$, 'at max_errors the check is given up as an error');
select is((select status::text from job_directories where job_id = :'job_1' and directory_id = 'dir-a'), 'submitted',
  'an error never moves the directory');
select is((select seq from listing_checks where job_id = :'job_1' and checked_at is null), 3,
  'and the schedule goes on');

-- The last check: live, live_mismatch naming the field, not_found → not_live ---------------------
update listing_checks set due_at = now() - interval '1 second' where job_id = :'job_1' and seq = 3;
create temp table c3 on commit drop as select * from listing_checks_claim('w-live', 10, 60);
select is((select last from c3), true, 'the third check of a three-delay schedule is the last');
select is((listing_checks_report((select check_id from c3), (select lease_token from c3), 'live_mismatch', 0.667, array['phone'],
           '{"phone": "(555) 000-0000"}')).mismatched_fields, array['phone'], 'a mismatch is recorded with its field');
select results_eq(format($$ select status::text, last_message, submitted_at is not null from job_directories where job_id = %L and directory_id = 'dir-a' $$, :'job_1'),
  $$ values ('live_mismatch', 'live check 3: the listing is up but shows a different phone', true) $$,
  'the directory is live_mismatch and its last message names the field');
select is_empty(format('select 1 from listing_checks where job_id = %L and checked_at is null', :'job_1'),
  'no check after the last one');
select results_eq(format($$ select delivered, working from package_promise(%L) $$, :'job_1'),
  $$ values (2, 0) $$, 'a live_mismatch listing counts as delivered');

-- A live listing: submitted → live; then not_found at the last check → not_live → replaced while open
update job_directories set listing_url = 'http://127.0.0.1:9/b/listing/2' where job_id = :'job_1' and directory_id = 'dir-b';
update listing_checks set due_at = now() - interval '1 second' where job_id = :'job_1' and directory_id = 'dir-b';
create temp table b1 on commit drop as select * from listing_checks_claim('w-live', 10, 60);
select listing_checks_report((select check_id from b1), (select lease_token from b1), 'live', 1) \gset
select is((select status::text from job_directories where job_id = :'job_1' and directory_id = 'dir-b'), 'live',
  'a check that finds the listing with matching details makes it live');
update listing_checks set due_at = now() - interval '1 second', seq = 3 where job_id = :'job_1' and directory_id = 'dir-b' and checked_at is null;
create temp table b3 on commit drop as select * from listing_checks_claim('w-live', 10, 60);
select listing_checks_report((select check_id from b3), (select lease_token from b3), 'not_found', null, '{}', '{}', 'HTTP 410', 410) \gset
select results_eq(format($$ select status::text, last_error_code, replaced_by from job_directories where job_id = %L and directory_id = 'dir-b' $$, :'job_1'),
  $$ values ('not_live', 'not_live', 'dir-c') $$,
  'not found at the last check: not_live, and replaced while the job is open');
select results_eq(format($$ select actor, from_status, to_status from audit_log where job_id = %L and directory_id = 'dir-b' and action = 'listing_check.reported' order by id $$, :'job_1'),
  $$ values ('worker:w-live', 'submitted', 'live'), ('worker:w-live', 'live', 'not_live') $$,
  'both transitions are audited as the worker');
select results_eq(format($$ select promised, delivered, replaced, working from package_promise(%L) $$, :'job_1'),
  $$ values (2, 1, 1, 1) $$, 'not_live is not delivered; its replacement is being worked');

-- After completion: a not_live listing owes its share ---------------------------------------------
select id as job_2, order_id as order_2 from jobs_enqueue(dev.create_paid_order('later@example.com', 'starter')) \gset
update orders set amount_total = 10000, stripe_payment_intent_id = 'pi_live_2' where id = :'order_2';
update jobs set created_at = now() - interval '1 hour' where id = :'job_2';
select id as claimed_2, lease_token as token_2 from jobs_next('worker-2', 300) \gset
select is(:'claimed_2'::uuid, :'job_2'::uuid, 'set-up: the second job is in progress');
select jobs_report_attempt(:'job_2', :'token_2',
  '{"directory_id": "dir-a", "attempt": 1, "outcome": "success", "confirmed": true, "listing_url": "http://127.0.0.1:9/a/listing/3"}') \gset
select jobs_report_attempt(:'job_2', :'token_2',
  '{"directory_id": "dir-b", "attempt": 1, "outcome": "already_listed", "listing_url": "http://127.0.0.1:9/b/listing/4"}') \gset
select results_eq(format($$ select directory_id, seq, due_at - now() from listing_checks where job_id = %L order by directory_id $$, :'job_2'),
  $$ values ('dir-a', 1, interval '1 hour'), ('dir-b', 1, interval '1 hour') $$,
  'a listing the lookup found (already_listed) is checked on the same schedule');
select jobs_complete(:'job_2', :'token_2') \gset
select is_empty(format('select 1 from shortfall_refunds where job_id = %L', :'job_2'),
  'set-up: submitted and already_listed deliver the whole package: nothing owed at completion');
update listing_checks set due_at = now() - interval '1 second', seq = 3 where job_id = :'job_2' and directory_id = 'dir-a';
create temp table j2 on commit drop as select * from listing_checks_claim('w-live', 10, 60);
select is((select job_id from j2), :'job_2'::uuid, 'checks go on after the job completed');
select listing_checks_report((select check_id from j2), (select lease_token from j2), 'not_found') \gset
select results_eq(format($$ select seq, shortfall, amount, idempotency_key from shortfall_refunds where job_id = %L $$, :'job_2'),
  format($$ values (1, 1, 5000, 'dbolt-shortfall-refund-%s') $$, :'order_2'),
  'a listing found not live after completion owes its share (1 of 2 → half), in the same transaction');
select results_eq(format($$ select status::text, replaced_by from job_directories where job_id = %L and directory_id = 'dir-a' $$, :'job_2'),
  $$ values ('not_live', null) $$, 'and is not replaced on a complete job');

-- Who may call and read --------------------------------------------------------------------------
select ok(not has_function_privilege('authenticated', 'public.listing_checks_claim(text, int, int)', 'execute')
          and not has_function_privilege('authenticated', 'public.listing_checks_report(bigint, uuid, text, numeric, text[], jsonb, text, int)', 'execute')
          and not has_function_privilege('authenticated', 'public.live_check_policy_set(interval[], interval, int)', 'execute')
          and has_function_privilege('service_role', 'public.listing_checks_claim(text, int, int)', 'execute')
          and has_function_privilege('service_role', 'public.listing_checks_report(bigint, uuid, text, numeric, text[], jsonb, text, int)', 'execute'),
  'only the service role claims, reports and sets the schedule');
select dev.impersonate(:'user_1') \gset
select throws_ok('select * from listing_checks_claim(''w-browser'', 10, 60)', '42501', NULL,
  'a signed-in customer calling listing_checks_claim is refused');
select results_eq('select directory_id, seq, result, nap_score, mismatched_fields from listing_checks where result = ''live_mismatch''',
  $$ values ('dir-a', 3, 'live_mismatch', 0.667::numeric, array['phone']) $$,
  'the customer reads their own listing''s last check, score and the field shown wrong');
select is((select count(distinct job_id)::int from listing_checks), 1, 'and only their own job''s checks');
select throws_ok('select lease_token, worker_id from listing_checks', '42501', NULL, 'not the worker''s lease');
select throws_ok('select observed, message from listing_checks', '42501', NULL, 'nor the page''s raw text or the staff message');
reset role;
select set_config('request.jwt.claims', jsonb_build_object('sub', gen_random_uuid(), 'role', 'authenticated',
  'app_metadata', jsonb_build_object('role', 'staff'))::text, true) \gset
set local role dbolt_staff;
select results_eq('select count(distinct job_id)::int, bool_or(observed ? ''phone''), bool_or(message is not null) from listing_checks',
  $$ values (2, true, true) $$, 'staff (dbolt_staff) read every job''s checks with what the page showed');
reset role;

select * from finish();
rollback;
