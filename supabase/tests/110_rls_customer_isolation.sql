-- Row level security on customer data: a customer sees only their own customer, orders,
-- jobs, directories, attempts and report; another customer sees none of it and nobody can
-- write through the Data API; staff (app_metadata.role = 'staff') see everything on the
-- dashboard's role (dbolt_staff); anon
-- sees nothing; no browser role can drive the queue.
begin;
set search_path = public, extensions;
select plan(63);

select directories_sync($$[
  {"id": "dir-a", "name": "A", "homepage": "http://127.0.0.1:9/a", "tier": "starter", "priority": 1, "mode": "auto", "enabled": true}
]$$::jsonb) \gset

-- Two customers, each with a completed job (one directory, one attempt, one report).
select dev.create_paid_order('alice@example.com', 'starter') as order_a \gset
select dev.create_paid_order('bob@example.com', 'starter') as order_b \gset
select user_id as user_a, id as cust_a from customers where email = 'alice@example.com' \gset
select user_id as user_b, id as cust_b from customers where email = 'bob@example.com' \gset
select id as job_a from jobs_enqueue(:'order_a') \gset
update jobs set created_at = now() - interval '1 minute' where id = :'job_a';
select id as job_b from jobs_enqueue(:'order_b') \gset

select id as claimed_a, lease_token as token_a from jobs_next('worker-1', 300) \gset
select jobs_report_attempt(job_id => :'job_a', lease_token => :'token_a',
  report => '{"directory_id": "dir-a", "attempt": 1, "outcome": "success", "confirmed": true}') \gset
select jobs_complete(:'job_a', :'token_a') \gset
select id as claimed_b, lease_token as token_b from jobs_next('worker-2', 300) \gset
select jobs_report_attempt(job_id => :'job_b', lease_token => :'token_b',
  report => '{"directory_id": "dir-a", "attempt": 1, "outcome": "success", "confirmed": true}') \gset
select jobs_complete(:'job_b', :'token_b') \gset
insert into alerts (kind, message) values ('captcha_provider_down', '2Captcha is not answering');
select gen_random_uuid() as staff_user \gset

select results_eq(format('select %L::uuid, %L::uuid', :'claimed_a', :'claimed_b'),
  format('select %L::uuid, %L::uuid', :'job_a', :'job_b'), 'set-up: both jobs ran and completed');

-- Customer A -------------------------------------------------------------------------------
select dev.impersonate(:'user_a') \gset
select is(current_user::text, 'authenticated', 'impersonation switched to the authenticated role');
select results_eq('select email from customers', $$ values ('alice@example.com') $$,
  'A sees only their own customer record');
select results_eq('select id from orders', format('values (%L::uuid)', :'order_a'),
  'A sees only their own order');
select results_eq('select id, status::text from jobs', format($$ values (%L::uuid, 'complete') $$, :'job_a'),
  'A sees only their own job');
select results_eq('select job_id, directory_id from job_directories', format($$ values (%L::uuid, 'dir-a') $$, :'job_a'),
  'A sees only their own job''s directories');
select results_eq('select job_id, attempt from job_results', format($$ values (%L::uuid, 1) $$, :'job_a'),
  'A sees only their own attempts');
select results_eq('select job_id, (summary ->> ''successes'')::int from job_reports',
  format($$ values (%L::uuid, 1) $$, :'job_a'), 'A sees only their own report');
select is(private.current_customer_id(), :'cust_a'::uuid, 'private.current_customer_id() is A''s customer');
select is_empty('select * from audit_log', 'a customer cannot read the audit trail');
select is_empty('select * from workers', 'a customer cannot read worker health');
select is_empty('select * from alerts', 'a customer cannot read alerts');
select throws_ok('select * from stripe_events', '42501', NULL, 'a customer cannot read stripe_events at all');
select is((select count(*)::int from tiers), 4, 'a customer can read the packages');
select ok((select count(*) from directories where id = 'dir-a') = 1, 'a customer can read the directory list');
reset role;

-- Customer B: none of A's rows, no writes --------------------------------------------------
select dev.impersonate(:'user_b') \gset
select results_eq('select id from jobs', format('values (%L::uuid)', :'job_b'), 'B sees only their own job');
select is_empty(format('select 1 from customers where id = %L', :'cust_a'), 'B cannot see A''s customer record');
select is_empty($$ select 1 from customers where email = 'alice@example.com' $$, 'not even by email');
select is_empty(format('select 1 from orders where id = %L', :'order_a'), 'B cannot see A''s order');
select is_empty(format('select 1 from jobs where id = %L', :'job_a'), 'B cannot see A''s job');
select is_empty(format('select 1 from job_directories where job_id = %L', :'job_a'), 'B cannot see A''s job directories');
select is_empty(format('select 1 from job_results where job_id = %L', :'job_a'), 'B cannot see A''s attempts');
select is_empty(format('select 1 from job_reports where job_id = %L', :'job_a'), 'B cannot see A''s report');

select throws_ok(format($$ update jobs set status = 'cancelled' where id = %L $$, :'job_a'), '42501', NULL,
  'B cannot update A''s job');
select throws_ok(format($$ update customers set business_name = 'Hijacked' where id = %L $$, :'cust_a'), '42501', NULL,
  'B cannot update A''s business info');
select throws_ok(format($$ update orders set status = 'refunded' where id = %L $$, :'order_a'), '42501', NULL,
  'B cannot update A''s order');
select throws_ok(format($$ delete from job_reports where job_id = %L $$, :'job_a'), '42501', NULL,
  'B cannot delete A''s report');
select throws_ok(format($$ update job_directories set status = 'live' where job_id = %L $$, :'job_a'), '42501', NULL,
  'B cannot change A''s directory states');
select throws_ok(format($$ insert into job_results (job_id, directory_id, attempt, outcome) values (%L, 'dir-a', 2, 'success') $$, :'job_a'),
  '42501', NULL, 'B cannot insert attempts into A''s job');
select throws_ok(format($$ insert into orders (customer_id, tier, status, paid_at) values (%L, 'enterprise', 'paid', now()) $$, :'cust_b'),
  '42501', NULL, 'B cannot give themselves a paid order');
select throws_ok($$ update tiers set max_running = 100 $$, '42501', NULL, 'B cannot change the packages');
select throws_ok($$ insert into audit_log (actor, action) values ('bob', 'job.cancelled') $$, '42501', NULL,
  'B cannot forge audit rows');
select throws_ok(format($$ select jobs_cancel(%L, 'bob') $$, :'job_a'), '42501', NULL,
  'B cannot call jobs_cancel');
select throws_ok($$ select * from jobs_next('bob-laptop', 60) $$, '42501', NULL, 'B cannot call jobs_next');
select throws_ok(format($$ select jobs_enqueue(%L) $$, :'order_b'), '42501', NULL, 'B cannot call jobs_enqueue');
reset role;

-- B with a forged user_metadata role (users can edit user_metadata, not app_metadata).
select set_config('request.jwt.claims', jsonb_build_object('sub', :'user_b', 'role', 'authenticated',
  'user_metadata', jsonb_build_object('role', 'staff'))::text, true) \gset
set local role authenticated;
select results_eq('select id from jobs', format('values (%L::uuid)', :'job_b'),
  'a staff role in user_metadata grants nothing: B still sees only their own job');
select is_empty('select * from audit_log', 'nor the audit trail');
reset role;

select results_eq(
  format($$ select c.business_name, j.status::text, o.status::text, d.status::text
             from customers c join orders o on o.customer_id = c.id join jobs j on j.order_id = o.id
             join job_directories d on d.job_id = j.id where c.id = %L $$, :'cust_a'),
  $$ values ('Bluebird Bakery', 'complete', 'paid', 'submitted') $$,
  'A''s rows are exactly as before B''s attempts');
select is((select count(*)::int from job_results where job_id = :'job_a'), 1, 'A still has exactly one attempt');

-- Staff, as the portal's dashboard reads (dbolt_staff) -----------------------------------
select dev.impersonate(:'staff_user', 'staff') \gset
set local role dbolt_staff;
select is((select count(*)::int from customers where id in (:'cust_a', :'cust_b')), 2, 'staff see both customers');
select is((select count(*)::int from orders where id in (:'order_a', :'order_b')), 2, 'staff see both orders');
select is((select count(*)::int from jobs where id in (:'job_a', :'job_b')), 2, 'staff see both jobs');
select is((select count(*)::int from job_directories where job_id in (:'job_a', :'job_b')), 2, 'staff see both jobs'' directories');
select is((select count(*)::int from job_results where job_id in (:'job_a', :'job_b')), 2, 'staff see every attempt');
select is((select count(*)::int from job_reports where job_id in (:'job_a', :'job_b')), 2, 'staff see every report');
select ok((select count(*) from audit_log where job_id in (:'job_a', :'job_b')) >= 8, 'staff read the audit trail');
select results_eq('select id from workers order by id', $$ values ('worker-1'), ('worker-2') $$, 'staff read worker health');
select results_eq('select kind from alerts', $$ values ('captcha_provider_down') $$, 'staff read alerts');
select throws_ok(format($$ update jobs set status = 'cancelled' where id = %L $$, :'job_a'), '42501', NULL,
  'staff cannot write jobs directly either (they go through the orchestrator)');
select throws_ok(format($$ select jobs_retry(%L, null, 'staff:me') $$, :'job_a'), '42501', NULL,
  'staff cannot call the queue functions from the browser');
reset role;

-- A worker service account: queue wake-ups only, no customer data ----------------------------
select dev.impersonate(gen_random_uuid(), 'worker') \gset
select is_empty('select id from jobs', 'a worker account reads no jobs');
select is_empty('select * from customers', 'a worker account reads no customers');
reset role;

-- Anon -------------------------------------------------------------------------------------
set local role anon;
select set_config('request.jwt.claims', '{"role":"anon"}', true) \gset
select throws_ok('select * from customers', '42501', NULL, 'anon cannot read customers');
select throws_ok('select * from orders', '42501', NULL, 'anon cannot read orders');
select throws_ok('select * from jobs', '42501', NULL, 'anon cannot read jobs');
select throws_ok('select * from job_directories', '42501', NULL, 'anon cannot read job_directories');
select throws_ok('select * from job_results', '42501', NULL, 'anon cannot read job_results');
select throws_ok('select * from job_reports', '42501', NULL, 'anon cannot read job_reports');
select throws_ok('select * from audit_log', '42501', NULL, 'anon cannot read audit_log');
select throws_ok('select * from directories', '42501', NULL, 'anon cannot read directories');
select is((select count(*)::int from tiers), 4, 'anon can read the packages on offer');
select throws_ok($$ select * from jobs_next('anon', 60) $$, '42501', NULL, 'anon cannot call jobs_next');
select throws_ok('select queue_stats()', '42501', NULL, 'anon cannot call queue_stats');
reset role;

select * from finish();
rollback;
