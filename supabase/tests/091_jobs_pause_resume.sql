-- jobs_pause / jobs_resume (staff): a pending or in-progress job is paused (its lease taken
-- away, in-progress directories queued, tier slot freed) and a paused job resumes to pending.
-- Other states are refused, and an actor is always required.
begin;
set search_path = public, extensions;
select plan(27);

select directories_sync($$[
  {"id": "dir-a", "name": "A", "homepage": "http://127.0.0.1:9/a", "tier": "starter", "priority": 1, "mode": "auto", "enabled": true},
  {"id": "dir-b", "name": "B", "homepage": "http://127.0.0.1:9/b", "tier": "starter", "priority": 2, "mode": "auto", "enabled": true}
]$$::jsonb) \gset

select id as job_p from jobs_enqueue(dev.create_paid_order('pending@example.com', 'starter')) \gset
update jobs set created_at = now() - interval '1 minute' where id = :'job_p';
select id as job_r from jobs_enqueue(dev.create_paid_order('running@example.com', 'starter')) \gset

-- Pause a pending job -------------------------------------------------------------------
select throws_ok(format('select jobs_pause(%L, null)', :'job_p'), 'DB005', 'actor is required',
  'pausing without an actor is refused with DB005');
select throws_ok($$ select jobs_pause(gen_random_uuid(), 'staff:alice') $$, 'DB003', NULL,
  'pausing an unknown job is refused with DB003');
select is((jobs_pause(:'job_p', 'staff:alice')).status::text, 'paused', 'a pending job is paused');
select is((select status::text from jobs where id = :'job_p'), 'paused', 'the stored job is paused');
select throws_ok(format('select jobs_pause(%L, %L)', :'job_p', 'staff:alice'), 'DB002', NULL,
  'pausing a paused job is refused with DB002');
select throws_like(format('select jobs_pause(%L, %L)', :'job_p', 'staff:alice'),
  '%is paused; only a pending, in-progress or waiting job can be paused', 'the message names the current state');

-- The paused job is not dispatched; the other one is.
select id as claimed, lease_token as token from jobs_next('worker-1', 300) \gset
select is(:'claimed'::uuid, :'job_r'::uuid, 'jobs_next skips the (older) paused job');
select jobs_start_directory(:'job_r', :'token', 'dir-a') \gset
select jobs_report_attempt(job_id => :'job_r', lease_token => :'token',
  report => '{"directory_id": "dir-b", "attempt": 1, "outcome": "success", "confirmed": true}') \gset
select is((select running from tiers where name = 'starter'), 1, 'one starter slot in use');

-- Pause an in-progress job --------------------------------------------------------------
create temp table paused as select * from jobs_pause(:'job_r', 'staff:bob');
select results_eq(
  $$ select status::text, lease_token, lease_expires_at, worker_id from paused $$,
  $$ values ('paused', null::uuid, null::timestamptz, null::text) $$,
  'an in-progress job is paused and its lease cleared');
select results_eq(
  format($$ select status::text, lease_token, lease_expires_at, worker_id from jobs where id = %L $$, :'job_r'),
  $$ values ('paused', null::uuid, null::timestamptz, null::text) $$, 'the stored job too');
select results_eq(
  format($$ select directory_id, status::text from job_directories where job_id = %L order by position $$, :'job_r'),
  $$ values ('dir-a', 'queued'), ('dir-b', 'submitted') $$,
  'its in-progress directory is queued; the submitted one is kept');
select is((select running from tiers where name = 'starter'), 0, 'the slot was released');
-- The worker's report after the pause is a late fact (issue 13): recorded, not refused;
-- a transient error changes nothing, so the directory waits queued for the resume.
select is(
  (jobs_report_attempt(job_id => :'job_r', lease_token => :'token',
     report => '{"directory_id": "dir-a", "attempt": 1, "outcome": "transient_error", "error_code": "timeout"}')).status::text,
  'queued', 'the worker''s late report on the paused job is recorded and leaves the directory queued');
select is_empty('select * from jobs_next(''worker-2'', 300)', 'no paused job is dispatched');

-- Resume ----------------------------------------------------------------------------------
select throws_ok(format('select jobs_resume(%L, %L)', :'job_r', ''), 'DB005', 'actor is required',
  'resuming without an actor is refused with DB005');
select throws_ok($$ select jobs_resume(gen_random_uuid(), 'staff:alice') $$, 'DB003', NULL,
  'resuming an unknown job is refused with DB003');
select is((jobs_resume(:'job_r', 'staff:carol')).status::text, 'pending', 'a paused job resumes to pending');
select results_eq(
  format($$ select status::text, lease_token from jobs where id = %L $$, :'job_r'),
  $$ values ('pending', null::uuid) $$, 'the stored job is pending and unleased');
select throws_ok(format('select jobs_resume(%L, %L)', :'job_r', 'staff:carol'), 'DB002', NULL,
  'resuming a pending job is refused with DB002');
select throws_like(format('select jobs_resume(%L, %L)', :'job_r', 'staff:carol'),
  '%is pending; only a paused job can be resumed', 'the message names the current state');
select is((select id from jobs_next('worker-2', 300)), :'job_r'::uuid, 'the resumed job is dispatched again');
select throws_ok(format('select jobs_resume(%L, %L)', :'job_r', 'staff:carol'), 'DB002', NULL,
  'resuming an in-progress job is refused with DB002');

-- Final states cannot be paused ------------------------------------------------------------
select jobs_cancel(:'job_p', 'staff:alice') \gset
select throws_ok(format('select jobs_pause(%L, %L)', :'job_p', 'staff:alice'), 'DB002', NULL,
  'pausing a cancelled job is refused with DB002');
select throws_ok(format('select jobs_resume(%L, %L)', :'job_p', 'staff:alice'), 'DB002', NULL,
  'resuming a cancelled job is refused with DB002');
select lease_token as token2 from jobs where id = :'job_r' \gset
select jobs_report_attempt(job_id => :'job_r', lease_token => :'token2',
  report => '{"directory_id": "dir-a", "attempt": 1, "outcome": "success", "confirmed": true}') \gset
select jobs_complete(:'job_r', :'token2') \gset
select throws_ok(format('select jobs_pause(%L, %L)', :'job_r', 'staff:alice'), 'DB002', NULL,
  'pausing a complete job is refused with DB002');

select results_eq(
  format($$ select actor, action, from_status, to_status from audit_log
            where job_id in (%L, %L) and action in ('job.paused', 'job.resumed') order by id $$, :'job_p', :'job_r'),
  $$ values ('staff:alice', 'job.paused', 'pending', 'paused'),
            ('staff:bob', 'job.paused', 'in_progress', 'paused'),
            ('staff:carol', 'job.resumed', 'paused', 'pending') $$,
  'every pause and resume is audited with its actor and transition');
select is((select running from tiers where name = 'starter'), 0, 'no slot is left reserved');

select * from finish();
rollback;
