-- Who reads directory_accounts (20261206000400): the customer their own accounts' login, site
-- and dates; staff on the dashboard (dbolt_staff) every account's; anon nothing; nobody but
-- the service role the sealed password or its key id — not even its owner, through the Data
-- API or otherwise (a reveal goes through directory_accounts_reveal, audited).
begin;
set search_path = public, extensions;
select plan(15);

select directories_sync($$[
  {"id": "dir-a", "name": "A", "homepage": "https://a.example/", "tier": "starter", "priority": 1, "mode": "auto", "enabled": true}
]$$::jsonb) \gset
select decode(repeat('ab', 40), 'hex') as sealed \gset

select id as job from jobs_enqueue(dev.create_paid_order('alice@example.com', 'starter')) \gset
select user_id as alice from customers where email = 'alice@example.com' \gset
select lease_token as token from jobs_next('worker-1', 300) \gset
select jobs_start_directory(:'job', :'token', 'dir-a') \gset
select account_id as alice_account from directory_accounts_open(:'job', :'token', 'dir-a',
  'alice-1@mail.example', 'https://a.example/', 'k1', :'sealed') \gset
select jobs_report_attempt(job_id => :'job', lease_token => :'token',
  report => '{"directory_id": "dir-a", "attempt": 1, "outcome": "success", "confirmed": true}') \gset
select jobs_complete(:'job', :'token') \gset
select id as bob_job from jobs_enqueue(dev.create_paid_order('bob@example.com', 'starter')) \gset
select user_id as bob from customers where email = 'bob@example.com' \gset
select lease_token as bob_token from jobs_next('worker-2', 300) \gset
select jobs_start_directory(:'bob_job', :'bob_token', 'dir-a') \gset
select account_id as bob_account from directory_accounts_open(:'bob_job', :'bob_token', 'dir-a',
  'bob-2@mail.example', 'https://a.example/', 'k1', :'sealed') \gset

-- Grants ------------------------------------------------------------------------------------
select ok(not has_column_privilege('authenticated', 'public.directory_accounts', 'password_sealed', 'select')
          and not has_column_privilege('authenticated', 'public.directory_accounts', 'key_id', 'select'),
  'authenticated holds no privilege on the sealed password or its key id');
select ok(not has_column_privilege('dbolt_staff', 'public.directory_accounts', 'password_sealed', 'select')
          and not has_column_privilege('dbolt_staff', 'public.directory_accounts', 'key_id', 'select'),
  'nor does dbolt_staff (the dashboard''s role)');
select ok(not has_any_column_privilege('anon', 'public.directory_accounts', 'select'),
  'anon holds no privilege on the table at all');

-- Alice -------------------------------------------------------------------------------------
select dev.impersonate(:'alice');
select results_eq('select id, directory_id, login, site_url, opened_by_job from directory_accounts',
  format($$ values (%L::uuid, 'dir-a'::text, 'alice-1@mail.example'::text, 'https://a.example/'::text, %L::uuid) $$,
    :'alice_account', :'job'),
  'the customer reads their own account (login, site, the job that opened it), and only theirs');
select throws_ok('select password_sealed from directory_accounts', '42501', NULL,
  'the customer cannot read the sealed password, even of their own account');
select throws_ok('select key_id from directory_accounts', '42501', NULL, 'nor its key id');
select throws_ok('select * from directory_accounts', '42501', NULL,
  'select * (the Data API''s default) is refused, so nothing secret leaks by default');
select throws_ok(format($$ select * from directory_accounts_reveal(%L, 'user:%s') $$, :'alice_account', :'alice'),
  '42501', NULL, 'the customer cannot call the reveal function themselves (the portal does, audited)');
reset role;

-- Bob sees only his own ---------------------------------------------------------------------
select dev.impersonate(:'bob');
select results_eq('select id from directory_accounts', format('values (%L::uuid)', :'bob_account'),
  'another customer sees only their own account, never Alice''s');
reset role;

-- Anon, a staff JWT on the Data API, and staff on the dashboard ----------------------------
set local role anon;
select throws_ok('select id from directory_accounts', '42501', NULL, 'anon cannot read directory accounts');
reset role;
select dev.impersonate(gen_random_uuid(), 'staff');
select is_empty('select id from directory_accounts',
  'a staff JWT through the Data API reads no account (staff read them on the dashboard)');
reset role;
select set_config('request.jwt.claims', jsonb_build_object('sub', gen_random_uuid(), 'role', 'authenticated',
  'app_metadata', jsonb_build_object('role', 'staff'))::text, true) \gset
set local role dbolt_staff;
select results_eq('select login from directory_accounts order by login',
  $$ values ('alice-1@mail.example'::text), ('bob-2@mail.example') $$,
  'staff on the dashboard read every customer''s account logins');
select throws_ok('select password_sealed from directory_accounts', '42501', NULL,
  'staff cannot read a sealed password either (a reveal needs a reason, audited)');
reset role;
select set_config('request.jwt.claims', jsonb_build_object('sub', gen_random_uuid(), 'role', 'authenticated')::text, true) \gset
set local role dbolt_staff;
select is_empty('select id from directory_accounts',
  'dbolt_staff without the staff claim sees no account (RLS still asks for it)');
reset role;

set local role service_role;
select is((select count(*)::int from directory_accounts where password_sealed is not null), 2,
  'the service role reads the sealed passwords (the orchestrator and the portal''s reveal)');
reset role;

select * from finish();
rollback;
