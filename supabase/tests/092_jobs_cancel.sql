-- jobs_cancel (staff): any non-final job (pending, in progress, paused) is cancelled; the
-- directories not yet done are marked skipped so the record shows they were never
-- submitted. Complete, failed and cancelled jobs are refused.
begin;
set search_path = public, extensions;
select plan(19);

select directories_sync($$[
  {"id": "dir-a", "name": "A", "homepage": "http://127.0.0.1:9/a", "tier": "starter", "priority": 1, "mode": "auto", "enabled": true},
  {"id": "dir-b", "name": "B", "homepage": "http://127.0.0.1:9/b", "tier": "starter", "priority": 2, "mode": "auto", "enabled": true},
  {"id": "dir-c", "name": "C", "homepage": "http://127.0.0.1:9/c", "tier": "starter", "priority": 3, "mode": "auto", "enabled": true},
  {"id": "dir-d", "name": "D", "homepage": "http://127.0.0.1:9/d", "tier": "starter", "priority": 4, "mode": "auto", "enabled": true}
]$$::jsonb) \gset

select id as job_run from jobs_enqueue(dev.create_paid_order('run@example.com', 'starter')) \gset
update jobs set created_at = now() - interval '1 minute' where id = :'job_run';
select id as job_pend from jobs_enqueue(dev.create_paid_order('pend@example.com', 'starter')) \gset
select id as job_paus from jobs_enqueue(dev.create_paid_order('paus@example.com', 'starter')) \gset
select id as job_done from jobs_enqueue(dev.create_paid_order('done@example.com', 'starter')) \gset
select jobs_pause(:'job_paus', 'staff:alice') \gset

select id as claimed, lease_token as token from jobs_next('worker-1', 300) \gset
select is(:'claimed'::uuid, :'job_run'::uuid, 'set-up: the oldest job is in progress');
select jobs_report_attempt(job_id => :'job_run', lease_token => :'token',
  report => '{"directory_id": "dir-a", "attempt": 1, "outcome": "success", "confirmed": true}') \gset
select jobs_report_attempt(job_id => :'job_run', lease_token => :'token',
  report => '{"directory_id": "dir-b", "attempt": 1, "outcome": "permanent_error", "error_code": "site_down"}') \gset
select jobs_start_directory(:'job_run', :'token', 'dir-c') \gset

select throws_ok(format('select jobs_cancel(%L, null)', :'job_run'), 'DB005', 'actor is required',
  'cancelling without an actor is refused with DB005');
select throws_ok($$ select jobs_cancel(gen_random_uuid(), 'staff:alice') $$, 'DB003', NULL,
  'cancelling an unknown job is refused with DB003');

-- In progress -----------------------------------------------------------------------------
create temp table cancelled as select * from jobs_cancel(:'job_run', 'staff:bob');
select results_eq(
  $$ select status::text, lease_token, lease_expires_at, worker_id from cancelled $$,
  $$ values ('cancelled', null::uuid, null::timestamptz, null::text) $$,
  'an in-progress job is cancelled and its lease cleared');
select results_eq(
  format($$ select directory_id, status::text, last_message from job_directories where job_id = %L order by position $$, :'job_run'),
  $$ values ('dir-a', 'submitted', null), ('dir-b', 'failed', null),
            ('dir-c', 'skipped', 'job cancelled'), ('dir-d', 'skipped', 'job cancelled') $$,
  'in-progress and queued directories are skipped; submitted and failed ones keep their outcome');
select is((select running from tiers where name = 'starter'), 0, 'the running slot was released');
select throws_ok(format('select jobs_heartbeat(%L, %L, 60)', :'job_run', :'token'), 'DB001', NULL,
  'the worker''s lease on the cancelled job is refused with DB001');

-- Pending and paused ----------------------------------------------------------------------
select is((jobs_cancel(:'job_pend', 'staff:carol')).status::text, 'cancelled', 'a pending job is cancelled');
select is((select count(*)::int from job_directories where job_id = :'job_pend' and status = 'skipped'), 4,
  'all four queued directories of the pending job are skipped');
select is((jobs_cancel(:'job_paus', 'staff:carol')).status::text, 'cancelled', 'a paused job is cancelled');
select is((select count(*)::int from job_directories where job_id = :'job_paus' and status = 'skipped'), 4,
  'all directories of the paused job are skipped');
select results_eq($$ select id from jobs_next('worker-2', 300) $$,
  format('values (%L::uuid)', :'job_done'),
  'jobs_next passes over the three cancelled jobs and hands out the last pending one');

-- Final states are refused -----------------------------------------------------------------
select throws_ok(format('select jobs_cancel(%L, %L)', :'job_pend', 'staff:carol'), 'DB002', NULL,
  'cancelling a cancelled job is refused with DB002');
select throws_like(format('select jobs_cancel(%L, %L)', :'job_pend', 'staff:carol'),
  '%is already cancelled', 'the message says it is already cancelled');

select id as claimed_done, lease_token as token_done from jobs where id = :'job_done' \gset
select is_empty($$ select * from jobs_next('worker-3', 300) $$,
  'nothing else is dispatchable: cancelled jobs are never handed out');
select count(*) as done_reports from (
  select jobs_report_attempt(job_id => :'job_done', lease_token => :'token_done',
    report => jsonb_build_object('directory_id', d, 'attempt', 1, 'outcome', 'success', 'confirmed', true))
    from unnest(array['dir-a', 'dir-b', 'dir-c', 'dir-d']) d
) r \gset
select jobs_complete(:'job_done', :'token_done') \gset
select throws_ok(format('select jobs_cancel(%L, %L)', :'job_done', 'staff:carol'), 'DB002', NULL,
  'cancelling a complete job is refused with DB002');
select throws_like(format('select jobs_cancel(%L, %L)', :'job_done', 'staff:carol'),
  '%is already complete', 'the message says it is already complete');
select is((select count(*)::int from job_directories where job_id = :'job_done' and status = 'submitted'), 4,
  'the refused cancel left the complete job''s directories submitted');

select results_eq(
  format($$ select actor, from_status, to_status from audit_log where action = 'job.cancelled'
            and job_id in (%L, %L, %L) order by id $$, :'job_run', :'job_pend', :'job_paus'),
  $$ values ('staff:bob', 'in_progress', 'cancelled'), ('staff:carol', 'pending', 'cancelled'),
            ('staff:carol', 'paused', 'cancelled') $$,
  'each cancellation is audited with its actor and previous state');

select * from finish();
rollback;
