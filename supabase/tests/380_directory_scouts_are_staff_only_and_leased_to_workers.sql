-- Scouts from the staff dashboard (issue 17, item 1): staff queue a scout of a URL (audited);
-- a worker takes it through the orchestrator (directory_scouts_next, service role) under a
-- lease and posts what it found (directory_scouts_finish), a refusal with its reason; staff
-- read them through staff_* functions only. Customers, workers' accounts and anon are
-- refused; no API role reads the table; a stale lease changes nothing.
begin;
set search_path = public, extensions;
select plan(30);

create temp table scout_staff_functions (fn regprocedure primary key) on commit drop;
insert into scout_staff_functions values
  ('public.staff_directory_scout_request(text)'),
  ('public.staff_directory_scouts(int)'),
  ('public.staff_directory_scout(bigint)'),
  ('public.staff_directory_scout_save(bigint, text, text, text, text)'),
  ('public.staff_directory_detail(text, int)');
grant select on scout_staff_functions to anon, authenticated;
select ok(bool_and(not has_function_privilege('anon', fn, 'execute')), 'anon can execute none of the staff scout functions')
  from scout_staff_functions;
select ok(bool_and(has_function_privilege('authenticated', fn, 'execute')),
  'signed-in users may call them (each checks for staff itself)') from scout_staff_functions;
select ok(not has_function_privilege('authenticated', 'public.directory_scouts_next(text, int)', 'execute')
  and not has_function_privilege('authenticated', 'public.directory_scouts_finish(bigint, uuid, text, jsonb, text[], text)', 'execute')
  and has_function_privilege('service_role', 'public.directory_scouts_next(text, int)', 'execute')
  and has_function_privilege('service_role', 'public.directory_scouts_finish(bigint, uuid, text, jsonb, text[], text)', 'execute'),
  'taking and finishing scouts is the service role''s (the orchestrator)');
select ok(not has_table_privilege('anon', 'public.directory_scouts', 'select')
  and not has_table_privilege('authenticated', 'public.directory_scouts', 'select')
  and not has_table_privilege('authenticated', 'public.directory_scouts', 'insert'),
  'no API role reads or writes directory_scouts itself');
select ok((select relrowsecurity from pg_class where oid = 'public.directory_scouts'::regclass), 'RLS is on');

-- Refused ----------------------------------------------------------------------------------
select set_config('request.jwt.claims', '{"role":"authenticated","sub":"00000000-0000-0000-0000-00000000000c","email":"one@example.com"}', true) \gset
set local role authenticated;
select throws_ok($$ select staff_directory_scout_request('https://example.com/add') $$, '42501', NULL, 'a customer cannot queue a scout');
select throws_ok($$ select * from staff_directory_scouts() $$, '42501', NULL, 'a customer cannot list scouts');
select throws_ok($$ select staff_directory_detail('sandbox-plain') $$, '42501', NULL, 'a customer cannot read a directory''s detail');
select throws_ok($$ select * from directory_scouts $$, '42501', NULL, 'a customer cannot read the table');
reset role;
select set_config('request.jwt.claims', '{"role":"authenticated","sub":"00000000-0000-0000-0000-00000000000d","app_metadata":{"role":"worker"}}', true) \gset
set local role authenticated;
select throws_ok($$ select staff_directory_scout_request('https://example.com/add') $$, '42501', NULL, 'a worker account cannot queue a scout');
select throws_ok($$ select * from directory_scouts_next('w', 60) $$, '42501', NULL, 'a worker account cannot take a scout from SQL');
reset role;
set local role anon;
select throws_ok($$ select staff_directory_scout_request('https://example.com/add') $$, '42501', NULL, 'anon cannot queue a scout');
reset role;
select is((select count(*)::int from directory_scouts), 0, 'the refused calls queued nothing');
select is_empty($$ select 1 from audit_log where action like 'directory.scout%' $$, 'and audited nothing');

-- Staff queue, list and read ----------------------------------------------------------------
select set_config('request.jwt.claims', '{"role":"authenticated","sub":"00000000-0000-0000-0000-0000000000aa","email":"ann@directorybolt.test","app_metadata":{"role":"staff"}}', true) \gset
set local role authenticated;
select throws_ok($$ select staff_directory_scout_request('   ') $$, 'DB005', 'url is required', 'an empty URL is refused, naming the field');
select staff_directory_scout_request('http://127.0.0.1:8400/plain/submit') as first_id \gset
select staff_directory_scout_request('file:///etc/passwd') as second_id \gset
select results_eq($$ select url, status, requested_by from staff_directory_scouts() order by scout_id $$,
  $$ values ('http://127.0.0.1:8400/plain/submit', 'queued', 'staff:ann@directorybolt.test'),
            ('file:///etc/passwd', 'queued', 'staff:ann@directorybolt.test') $$,
  'staff see the queued scouts with who asked');
reset role;
select results_eq($$ select actor, action, to_status, details ->> 'url' from audit_log where action = 'directory.scout_requested' order by id $$,
  $$ values ('staff:ann@directorybolt.test', 'directory.scout_requested', 'queued', 'http://127.0.0.1:8400/plain/submit'),
            ('staff:ann@directorybolt.test', 'directory.scout_requested', 'queued', 'file:///etc/passwd') $$,
  'each request is audited with the staff identity and the URL');

-- The worker side (service role) ------------------------------------------------------------
set local role service_role;
select scout_id as taken, lease_token as token from directory_scouts_next('worker-1', 60) \gset
select is(:'taken'::bigint, :'first_id'::bigint, 'the oldest queued scout is taken first');
select scout_id as taken2, lease_token as token2 from directory_scouts_next('worker-2', 60) \gset
select is(:'taken2'::bigint, :'second_id'::bigint, 'a second worker takes the next, not the same');
select is_empty($$ select * from directory_scouts_next('worker-3', 60) $$, 'nothing is left to take');
select throws_ok(format($$ select directory_scouts_finish(%s, gen_random_uuid(), 'done', '{}', '{}', null) $$, :'taken'),
  'DB001', NULL, 'a finish under another lease is refused');
select throws_ok(format($$ select directory_scouts_finish(%s, %L, 'refused', null, '{}', '') $$, :'taken2', :'token2'),
  'DB005', 'reason is required', 'a refusal says why');
select lives_ok(format($$ select directory_scouts_finish(%s, %L, 'done', '{"captcha": "none"}', '{scouts/1/step-1.png}', null) $$, :'taken', :'token'),
  'the worker posts its report under its lease');
select lives_ok(format($$ select directory_scouts_finish(%s, %L, 'refused', null, '{}', 'refused file:///etc/passwd: only http and https pages can be scouted') $$, :'taken2', :'token2'),
  'and a refusal with its reason');
select throws_ok(format($$ select directory_scouts_finish(%s, %L, 'failed', null, '{}', 'late') $$, :'taken', :'token'),
  'DB001', NULL, 'a finished scout cannot be finished again');
reset role;

set local role authenticated;
select results_eq(format($$ select s ->> 'status', s -> 'screenshots', s ? 'lease_token' from staff_directory_scout(%s) s $$, :'taken'),
  $$ values ('done', '["scouts/1/step-1.png"]'::jsonb, false) $$, 'staff read the report and screenshot refs, never the lease token');
select results_eq(format($$ select s ->> 'status', s ->> 'reason' from staff_directory_scout(%s) s $$, :'taken2'),
  $$ values ('refused', 'refused file:///etc/passwd: only http and https pages can be scouted') $$, 'and the refusal with its reason');
reset role;
select results_eq($$ select actor, from_status, to_status from audit_log where action = 'directory.scouted' order by id $$,
  $$ values ('worker:worker-1', 'running', 'done'), ('worker:worker-2', 'running', 'refused') $$,
  'each finish is audited with the worker');

-- A worker that stops mid-way: its scout is taken again after the lease, three tries at most.
insert into directory_scouts (url, requested_by, status, lease_token, lease_expires_at, attempts, worker_id)
values ('https://example.com/crash', 'staff:x', 'running', gen_random_uuid(), now() - interval '1 minute', 3, 'w-dead');
set local role service_role;
select is_empty($$ select * from directory_scouts_next('worker-4', 60) $$, 'a scout that stopped three times is not taken again');
reset role;
select is((select reason from directory_scouts where url = 'https://example.com/crash'),
  'the worker running it stopped 3 times without finishing', 'it is failed, saying why');

select * from finish();
rollback;
