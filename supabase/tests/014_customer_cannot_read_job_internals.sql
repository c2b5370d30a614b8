-- The attack: a customer signs in and, through the Data API with their own JWT, selects
-- every column of their own job (RLS lets them see the row): the worker's lease token,
-- worker ids, proxy labels, artifact paths, and every directory's submission recipe.
-- Column privileges refuse those columns (42501) while the columns the portal shows still
-- read; staff read the internals only as dbolt_staff, the role the portal switches to for a
-- verified staff viewer (20261203000150).
begin;
set search_path = public, extensions;
select plan(22);

select directories_sync($$[
  {"id": "dir-a", "name": "A", "homepage": "http://127.0.0.1:9/a", "tier": "starter", "priority": 1,
   "mode": "recipe", "recipe": {"steps": [{"goto": "http://127.0.0.1:9/a/submit"}]}, "enabled": true}
]$$::jsonb) \gset
select dev.create_paid_order('mallory@example.com', 'starter') as order_m \gset
select user_id as user_m from customers where email = 'mallory@example.com' \gset
select id as job_m from jobs_enqueue(:'order_m') \gset
select id as claimed, lease_token as token from jobs_next('worker-secret-7', 300) \gset
select jobs_report_attempt(job_id => :'job_m', lease_token => :'token',
  report => '{"directory_id": "dir-a", "attempt": 1, "outcome": "transient_error", "error_code": "timeout", "proxy": "proxy-pool-eu-3", "artifacts": {"screenshot": "artifacts/job/attempt-1.png"}}') \gset
select gen_random_uuid() as staff_user \gset

-- The customer, as the Data API would run their request ----------------------------------
select dev.impersonate(:'user_m') \gset
select is(current_user::text, 'authenticated', 'the customer runs as authenticated');
select throws_ok('select lease_token from jobs', '42501', NULL, 'a customer cannot read the lease token of their own job');
select throws_ok('select worker_id from jobs', '42501', NULL, 'a customer cannot read the worker id on their own job');
select throws_ok('select lease_expires_at, lost_leases from jobs', '42501', NULL, 'a customer cannot read the lease bookkeeping');
select throws_ok('select * from jobs', '42501', NULL, 'select * on jobs (PostgREST''s default) is refused, so nothing leaks by default');
select throws_ok('select proxy from job_results', '42501', NULL, 'a customer cannot read the proxy label of an attempt');
select throws_ok('select artifacts from job_results', '42501', NULL, 'a customer cannot read artifact paths');
select throws_ok('select worker_id from job_results', '42501', NULL, 'a customer cannot read the worker id of an attempt');
select throws_ok('select recipe from directories', '42501', NULL, 'a customer cannot read a directory''s recipe');
select throws_ok('select submit_url from directories', '42501', NULL, 'a customer cannot read a directory''s submit URL');
select throws_ok('select running, max_running from tiers', '42501', NULL, 'a customer cannot read the dispatch counters');
select results_eq('select id, status::text from jobs', format($$ values (%L::uuid, 'in_progress') $$, :'job_m'),
  'the customer still reads their own job''s status');
select results_eq('select outcome::text, error_code from job_results',
  $$ values ('transient_error', 'timeout') $$, 'the customer still reads their attempts'' outcomes');
select results_eq('select name, homepage from directories where id = ''dir-a''',
  $$ values ('A', 'http://127.0.0.1:9/a') $$, 'the customer still reads the directory''s name and homepage');
reset role;

-- Staff through the Data API: the same columns as a customer (the dashboard is for internals)
select dev.impersonate(:'staff_user', 'staff') \gset
select throws_ok('select lease_token from jobs', '42501', NULL, 'a staff JWT on the Data API cannot read lease tokens either');
reset role;

-- Staff on the portal's dashboard: dbolt_staff, RLS still asking for the staff claim -------
select set_config('request.jwt.claims', jsonb_build_object('sub', :'staff_user', 'role', 'authenticated',
  'app_metadata', jsonb_build_object('role', 'staff'))::text, true) \gset
set local role dbolt_staff;
select results_eq(format('select worker_id, lease_token from jobs where id = %L', :'job_m'),
  format($$ values ('worker-secret-7', %L::uuid) $$, :'token'), 'staff (dbolt_staff) read the worker and lease on the drill-down');
select results_eq('select proxy, artifacts ->> ''screenshot'' from job_results',
  $$ values ('proxy-pool-eu-3', 'artifacts/job/attempt-1.png') $$, 'staff read an attempt''s proxy and artifacts');
reset role;
-- dbolt_staff without the staff claim (a customer's JWT) sees no other customer's rows.
select dev.create_paid_order('other@example.com', 'starter') as order_o \gset
select set_config('request.jwt.claims', jsonb_build_object('sub', gen_random_uuid(), 'role', 'authenticated')::text, true) \gset
set local role dbolt_staff;
select is_empty('select id from jobs', 'dbolt_staff is no way around RLS: without the staff claim no job is visible');
reset role;

select ok(not pg_has_role('authenticated', 'dbolt_staff', 'member')
          and not pg_has_role('anon', 'dbolt_staff', 'member')
          and not pg_has_role('authenticator', 'dbolt_staff', 'member'),
  'neither the API roles nor PostgREST''s authenticator can switch to dbolt_staff');
select is_empty($$
  select c.oid::regclass::text, p.priv from pg_class c
   cross join (values ('INSERT'), ('UPDATE'), ('DELETE'), ('TRUNCATE'), ('REFERENCES'), ('TRIGGER')) p (priv)
   where c.relnamespace in ('public'::regnamespace, 'private'::regnamespace) and c.relkind in ('r', 'p', 'v')
     and has_table_privilege('dbolt_staff', c.oid, p.priv)
$$, 'dbolt_staff can only read');
select set_eq($$
  select p.oid::regprocedure::text from pg_proc p
   where p.pronamespace in ('public'::regnamespace, 'private'::regnamespace)
     and has_function_privilege('dbolt_staff', p.oid, 'execute')
$$, $$
  select p.oid::regprocedure::text from pg_proc p
   where p.pronamespace in ('public'::regnamespace, 'private'::regnamespace)
     and has_function_privilege('authenticated', p.oid, 'execute')
$$, 'dbolt_staff may execute exactly what authenticated may');
select set_eq($$
  select c.oid::regclass::text from pg_class c
   where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p')
     and has_table_privilege('dbolt_staff', c.oid, 'SELECT')
$$, $$ values ('jobs'), ('job_results'), ('customers'), ('orders'), ('workers'), ('audit_log'),
              ('alerts'), ('job_reports'), ('job_directories'), ('business_categories'), ('customer_logos'),
              ('shortfall_refunds'), ('customer_mailboxes'), ('listing_checks') $$,
  'dbolt_staff reads whole rows only of the tables staff pages read');

select * from finish();
rollback;
