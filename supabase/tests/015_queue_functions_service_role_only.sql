-- The queue's SQL functions are the orchestrator's and the webhook's (service role): no
-- browser (anon or a signed-in user with the anon key) may claim, report or steer jobs.
begin;
set search_path = public, extensions;
select plan(101);

create temp table queue_functions (fn regprocedure primary key) on commit drop;
insert into queue_functions values
  ('public.jobs_enqueue(uuid)'),
  ('public.jobs_next(text, int)'),
  ('public.jobs_heartbeat(uuid, uuid, int)'),
  ('public.jobs_start_directory(uuid, uuid, text)'),
  ('public.jobs_fence_submit(uuid, uuid, text, int)'),
  ('public.jobs_report_attempt(uuid, uuid, jsonb)'),
  ('public.jobs_complete(uuid, uuid)'),
  ('public.jobs_release(uuid, uuid, text)'),
  ('public.jobs_reap_expired(int)'),
  ('public.jobs_retry(uuid, text[], text)'),
  ('public.jobs_pause(uuid, text, text)'),
  ('public.jobs_resume(uuid, text)'),
  ('public.jobs_cancel(uuid, text, text)'),
  ('public.jobs_confirm_live(uuid, text, text, text)'),
  ('public.jobs_mark_submitted(uuid, text, text, text)'),
  ('public.jobs_mark_failed(uuid, text, text, text)'),
  ('public.jobs_save_session(uuid, uuid, text, text, bytea)'),
  ('public.jobs_assignment(uuid, uuid)'),
  ('public.jobs_wake_due(text, text)'),
  ('public.queue_stats()'),
  ('public.directories_sync(jsonb)'),
  ('public.directories_record_canary(text, jsonb, text, text, text)'),
  ('public.inbound_emails_receive(text, text, text, text, text, text, text, text, boolean)'),
  ('public.directory_accounts_open(uuid, uuid, text, text, text, text, bytea)'),
  ('public.directory_accounts_reveal(uuid, text, text)'),
  ('public.listing_checks_claim(text, int, int)'),
  ('public.listing_checks_report(bigint, uuid, text, numeric, text[], jsonb, text, int)'),
  ('public.live_check_policy_set(interval[], interval, int)'),
  ('public.directory_scouts_next(text, int)'),
  ('public.directory_scouts_finish(bigint, uuid, text, jsonb, text[], text)');
grant select on queue_functions to anon, authenticated, service_role;

select ok(not has_function_privilege('anon', fn, 'execute'), fn::text || ' is not executable by anon')
  from queue_functions order by fn::text;
select ok(not has_function_privilege('authenticated', fn, 'execute'), fn::text || ' is not executable by authenticated')
  from queue_functions order by fn::text;
select ok(has_function_privilege('service_role', fn, 'execute'), fn::text || ' is executable by service_role')
  from queue_functions order by fn::text;

-- Every jobs_* function in public is in the list above, so a new one cannot slip past.
select is_empty($$
  select p.oid::regprocedure::text from pg_proc p
   where p.pronamespace = 'public'::regnamespace
     and (p.proname like 'jobs\_%' or p.proname like 'directories\_%' or p.proname = 'queue_stats')
     and p.oid not in (select fn from queue_functions)
$$, 'every jobs_* and directories_* function is covered by this file');

-- Deny by default: nothing in public or private is executable by PUBLIC.
select is_empty($$
  select p.oid::regprocedure::text from pg_proc p
   where p.pronamespace in ('public'::regnamespace, 'private'::regnamespace)
     and has_function_privilege('public', p.oid, 'execute')
$$, 'no function in public or private is executable by PUBLIC');

-- The grants hold when actually called, not just in the catalog.
set local role authenticated;
select set_config('request.jwt.claims', '{"role":"authenticated","sub":"00000000-0000-0000-0000-00000000000a"}', true) \gset
select throws_ok('select * from jobs_next(''w-browser'', 60)', '42501', NULL,
  'authenticated calling jobs_next is refused (permission denied)');
select throws_ok('select jobs_enqueue(gen_random_uuid())', '42501', NULL,
  'authenticated calling jobs_enqueue is refused');
select throws_ok('select queue_stats()', '42501', NULL,
  'authenticated calling queue_stats is refused');
select throws_ok('select * from jobs_reap_expired()', '42501', NULL,
  'authenticated calling jobs_reap_expired is refused');
reset role;

set local role anon;
select set_config('request.jwt.claims', '{"role":"anon"}', true) \gset
select throws_ok('select * from jobs_next(''w-anon'', 60)', '42501', NULL,
  'anon calling jobs_next is refused');
select throws_ok('select jobs_cancel(gen_random_uuid(), ''anon'')', '42501', NULL,
  'anon calling jobs_cancel is refused');
reset role;

set local role service_role;
select set_config('request.jwt.claims', '{"role":"service_role"}', true) \gset
select lives_ok('select * from jobs_next(''w-service'', 60)',
  'service_role can call jobs_next');
select lives_ok('select queue_stats()', 'service_role can call queue_stats');
select lives_ok('select * from jobs_reap_expired()', 'service_role can call jobs_reap_expired');
reset role;

select * from finish();
rollback;
