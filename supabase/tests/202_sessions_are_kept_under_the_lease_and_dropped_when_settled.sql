-- A parked directory's sealed browser session: saved only by the job's current lease holder,
-- for a directory being worked; replaced by a later save; handed back with the assignment;
-- deleted when the directory settles. Service role only; never readable by the API roles.
begin;
set search_path = public, extensions;
select plan(17);

select directories_sync($$[
  {"id": "dir-a", "name": "A", "homepage": "http://127.0.0.1:9/a", "tier": "starter", "priority": 1, "mode": "auto", "enabled": true},
  {"id": "dir-b", "name": "B", "homepage": "http://127.0.0.1:9/b", "tier": "starter", "priority": 2, "mode": "auto", "enabled": true}
]$$::jsonb) \gset
select id as job from jobs_enqueue(dev.create_paid_order('session@example.com', 'starter')) \gset
select lease_token as token from jobs_next('worker-1', 300) \gset

select throws_ok(format($$select jobs_save_session(%L, gen_random_uuid(), 'dir-a', 'k1', '\x%s'::bytea)$$, :'job', repeat('00', 40)),
  'DB001', NULL, 'a stale lease cannot save a session');
select throws_ok(format($$select jobs_save_session(%L, %L, 'dir-zz', 'k1', '\x%s'::bytea)$$, :'job', :'token', repeat('00', 40)),
  'DB003', NULL, 'a directory not in the job is refused');
select throws_like(format($$select jobs_save_session(%L, %L, 'dir-a', 'bad key!', '\x%s'::bytea)$$, :'job', :'token', repeat('00', 40)),
  'key_id must be%', 'a malformed key id is refused, naming it');
select throws_like(format($$select jobs_save_session(%L, %L, 'dir-a', 'k1', '\x00'::bytea)$$, :'job', :'token'),
  'ciphertext must be%', 'a ciphertext too short to be sealed is refused');
select throws_like(format($$select jobs_save_session(%L, %L, 'dir-a', 'k1', decode(repeat('00', 262173), 'hex'))$$, :'job', :'token'),
  'ciphertext must be%', 'a session over 256 KiB is refused');

select lives_ok(format($$select jobs_save_session(%L, %L, 'dir-a', 'k1', '\x%s'::bytea)$$, :'job', :'token', repeat('01', 40)),
  'the lease holder saves a session for a directory being worked');
select lives_ok(format($$select jobs_save_session(%L, %L, 'dir-a', 'k2', '\x%s'::bytea)$$, :'job', :'token', repeat('02', 50)),
  'a later save replaces it');
select results_eq(format($$ select key_id, octet_length(ciphertext) from private.directory_sessions where job_id = %L $$, :'job'),
  $$ values ('k2', 50) $$, 'one session per directory, the latest');
select results_eq(format($$ select action, details from audit_log where job_id = %L and action = 'directory.session_saved' order by id desc limit 1 $$, :'job'),
  $$ values ('directory.session_saved', '{"key_id": "k2", "bytes": 50}'::jsonb) $$, 'saving is audited without the content');

select jobs_report_attempt(:'job', :'token',
  '{"directory_id": "dir-a", "attempt": 1, "outcome": "parked", "wait_kind": "moderation", "wait_seconds": 0, "resume_phase": "confirm"}') \gset
select throws_ok(format($$select jobs_save_session(%L, %L, 'dir-a', 'k1', '\x%s'::bytea)$$, :'job', :'token', repeat('01', 40)),
  'DB002', NULL, 'a parked directory is not being worked: no session is saved for it');
select is((select a #> '{directories,0,resume,session}' from (select jobs_assignment(:'job', :'token') as a) x),
  jsonb_build_object('key_id', 'k2', 'ciphertext', encode(decode(repeat('02', 50), 'hex'), 'base64')),
  'the due directory is handed out with its sealed session');

-- Settled: the session is deleted.
select jobs_start_directory(:'job', :'token', 'dir-a') \gset
select jobs_report_attempt(:'job', :'token',
  '{"directory_id": "dir-a", "attempt": 2, "outcome": "success", "confirmed": true, "listing_url": "https://a.example/1"}') \gset
select is((select count(*)::int from private.directory_sessions where job_id = :'job'), 0,
  'a settled directory''s session is deleted');

-- A cancel drops a parked directory's session too.
select jobs_save_session(:'job', :'token', 'dir-b', 'k1', decode(repeat('03', 40), 'hex')) \gset
select jobs_report_attempt(:'job', :'token',
  '{"directory_id": "dir-b", "attempt": 1, "outcome": "parked", "wait_kind": "email", "wait_seconds": 3600, "resume_phase": "verify_email"}') \gset
select jobs_cancel(:'job', 'staff:ops', 'customer asked') \gset
select is((select count(*)::int from private.directory_sessions where job_id = :'job'), 0,
  'cancelling skips the parked directory and drops its session');

select ok(not has_table_privilege('authenticated', 'private.directory_sessions', 'SELECT')
          and not has_table_privilege('anon', 'private.directory_sessions', 'SELECT')
          and not has_table_privilege('dbolt_staff', 'private.directory_sessions', 'SELECT'),
  'no API role (nor staff''s) reads sessions');
select ok(not has_function_privilege('authenticated', 'public.jobs_save_session(uuid, uuid, text, text, bytea)', 'execute')
          and has_function_privilege('service_role', 'public.jobs_save_session(uuid, uuid, text, text, bytea)', 'execute'),
  'jobs_save_session is the service role''s only');
select ok(not has_function_privilege('authenticated', 'public.jobs_assignment(uuid, uuid)', 'execute'),
  'nor can a customer read an assignment');

select ok(has_column_privilege('authenticated', 'public.job_directories', 'phase', 'SELECT')
          and has_column_privilege('authenticated', 'public.job_directories', 'wait_kind', 'SELECT')
          and has_column_privilege('authenticated', 'public.job_directories', 'wait_until', 'SELECT')
          and not has_column_privilege('authenticated', 'public.job_directories', 'wake_mail_id', 'SELECT'),
  'a customer''s page reads that a directory waits, for what and until when (not which mail)');

select * from finish();
rollback;
