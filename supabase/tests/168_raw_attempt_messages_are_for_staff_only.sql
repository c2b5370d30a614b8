-- Customers read plain words (20261205000420): through the Data API with their own JWT a
-- customer cannot read an attempt's raw message (a driver error, a selector, a proxy address)
-- on job_results or job_directories, but still reads the rest of their directories' rows and
-- the one field name a site refused; staff read it all as dbolt_staff.
begin;
set search_path = public, extensions;
select plan(9);

select directories_sync($$[
  {"id": "dir-a", "name": "A", "homepage": "http://127.0.0.1:9/a", "tier": "starter", "priority": 1,
   "mode": "auto", "enabled": true}
]$$::jsonb) \gset
select dev.create_paid_order('mallory@example.com', 'starter') as order_m \gset
select user_id as user_m from customers where email = 'mallory@example.com' \gset
select id as job_m from jobs_enqueue(:'order_m') \gset
select id as claimed, lease_token as token from jobs_next('worker-1', 300) \gset
select jobs_report_attempt(job_id => :'job_m', lease_token => :'token',
  report => '{"directory_id": "dir-a", "attempt": 1, "outcome": "permanent_error", "error_code": "field_rejected", "message": "postal_code: Timeout 8000ms exceeded via http://proxy-3.internal:3128"}') \gset

select is((select last_rejected_field from job_directories where job_id = :'job_m'), 'postal_code',
  'the field a site refused is kept beside the message');

select dev.impersonate(:'user_m') \gset
select throws_ok('select message from job_results', '42501', NULL,
  'a customer cannot read an attempt''s raw message');
select throws_ok('select last_message from job_directories', '42501', NULL,
  'nor the last raw message on their directory');
select throws_ok('select * from job_directories', '42501', NULL,
  'select * (PostgREST''s default) is refused, so the message never leaks by default');
select results_eq('select status::text, last_error_code, last_rejected_field from job_directories',
  $$ values ('failed', 'field_rejected', 'postal_code') $$,
  'the customer still reads the status, the code and the refused field');
select results_eq('select outcome::text, error_code from job_results',
  $$ values ('permanent_error', 'field_rejected') $$, 'and their attempts'' outcomes');
reset role;

select set_config('request.jwt.claims', json_build_object('sub', gen_random_uuid(), 'role', 'authenticated',
  'app_metadata', json_build_object('role', 'staff'))::text, true) \gset
set local role dbolt_staff;
select ok((select message from job_results where job_id = :'job_m') like '%proxy-3.internal:3128%',
  'staff read the raw message of an attempt');
select ok((select last_message from job_directories where job_id = :'job_m') like '%Timeout 8000ms%',
  'and of a directory');
reset role;
select ok(not has_column_privilege('anon', 'public.job_directories', 'last_message', 'select'),
  'anon reads no message either');

select * from finish();
rollback;
