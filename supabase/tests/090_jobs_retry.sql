-- jobs_retry (staff): failed directories, all or the named ones, go back to queued with a
-- fresh budget of attempts; a complete or failed job goes back to pending. Anything that is
-- not failed, a cancelled job, or a missing actor is refused.
begin;
set search_path = public, extensions;
select plan(31);

select directories_sync($$[
  {"id": "dir-a", "name": "A", "homepage": "http://127.0.0.1:9/a", "tier": "starter", "priority": 1, "mode": "auto", "enabled": true},
  {"id": "dir-b", "name": "B", "homepage": "http://127.0.0.1:9/b", "tier": "starter", "priority": 2, "mode": "auto", "enabled": true},
  {"id": "dir-c", "name": "C", "homepage": "http://127.0.0.1:9/c", "tier": "starter", "priority": 3, "mode": "auto", "enabled": true},
  {"id": "dir-d", "name": "D", "homepage": "http://127.0.0.1:9/d", "tier": "starter", "priority": 4, "mode": "auto", "enabled": true}
]$$::jsonb) \gset

-- A complete job with three failed directories (a, b permanently; d after three transient
-- errors) and one submitted (c).
select id as job from jobs_enqueue(dev.create_paid_order('retry@example.com', 'starter')) \gset
select lease_token as token from jobs_next('worker-1', 300) \gset
select jobs_report_attempt(job_id => :'job', lease_token => :'token',
  report => '{"directory_id": "dir-a", "attempt": 1, "outcome": "permanent_error", "error_code": "site_down"}') \gset
select jobs_report_attempt(job_id => :'job', lease_token => :'token',
  report => '{"directory_id": "dir-b", "attempt": 1, "outcome": "permanent_error", "error_code": "form_gone"}') \gset
select jobs_report_attempt(job_id => :'job', lease_token => :'token',
  report => '{"directory_id": "dir-c", "attempt": 1, "outcome": "success", "confirmed": true}') \gset
select count(*) as dir_d_reports from (
  select jobs_report_attempt(job_id => :'job', lease_token => :'token',
    report => jsonb_build_object('directory_id', 'dir-d', 'attempt', a, 'outcome', 'transient_error', 'error_code', 'timeout')) from generate_series(1, 3) a
) reports \gset
select jobs_complete(:'job', :'token') \gset
select results_eq(
  format($$ select directory_id, status::text from job_directories where job_id = %L order by position $$, :'job'),
  $$ values ('dir-a', 'failed'), ('dir-b', 'failed'), ('dir-c', 'submitted'), ('dir-d', 'failed') $$,
  'set-up: a complete job with three failed directories and one submitted');

-- Refused --------------------------------------------------------------------------------
select throws_ok(format('select jobs_retry(%L, null, null)', :'job'), 'DB005', 'actor is required',
  'a retry without an actor is refused with DB005');
select throws_ok(format('select jobs_retry(%L, null, %L)', :'job', '  '), 'DB005', 'actor is required',
  'a blank actor is refused with DB005');
select throws_ok(format($$ select jobs_retry(%L, '{}', 'staff:alice') $$, :'job'), 'DB005', NULL,
  'an empty directory list is refused with DB005');
select throws_ok($$ select jobs_retry(gen_random_uuid(), null, 'staff:alice') $$, 'DB003', NULL,
  'retrying an unknown job is refused with DB003');
select throws_ok(format($$ select jobs_retry(%L, '{dir-a,dir-c}', 'staff:alice') $$, :'job'), 'DB002', NULL,
  'naming a directory that is not failed (dir-c is submitted) is refused with DB002');
select throws_like(format($$ select jobs_retry(%L, '{dir-a,dir-c}', 'staff:alice') $$, :'job'),
  '%only failed directories or ones needing review or action can be retried; job % has: dir-c (submitted)',
  'the message names the directory and its status');
select throws_like(format($$ select jobs_retry(%L, '{dir-zz}', 'staff:alice') $$, :'job'),
  '%dir-zz (not in this job)', 'a directory that is not in the job is named as such');
select results_eq(
  format($$ select directory_id, status::text from job_directories where job_id = %L order by position $$, :'job'),
  $$ values ('dir-a', 'failed'), ('dir-b', 'failed'), ('dir-c', 'submitted'), ('dir-d', 'failed') $$,
  'the refused retries changed no directory (not even the failed dir-a named alongside dir-c)');
select is((select status::text from jobs where id = :'job'), 'complete', 'and left the job complete');

-- Named retry of a complete job ----------------------------------------------------------
select is(jobs_retry(:'job', '{dir-a}', 'staff:alice'), 1, 'retrying the named failed directory returns 1');
select results_eq(
  format($$ select directory_id, status::text, attempts, max_attempts from job_directories where job_id = %L order by position $$, :'job'),
  $$ values ('dir-a', 'queued', 1, 4), ('dir-b', 'failed', 1, 3), ('dir-c', 'submitted', 1, 3), ('dir-d', 'failed', 3, 3) $$,
  'only dir-a is queued again, with three more attempts; the others are unchanged');
select results_eq(
  format($$ select status::text, completed_at, lost_leases from jobs where id = %L $$, :'job'),
  $$ values ('pending', null::timestamptz, 0) $$,
  'the complete job went back to pending with completed_at cleared');
select results_eq(
  format($$ select actor, action, directory_id, from_status, to_status from audit_log
            where job_id = %L and actor = 'staff:alice' order by id $$, :'job'),
  $$ values ('staff:alice', 'directory.retried', 'dir-a', 'failed', 'queued'),
            ('staff:alice', 'job.retried', null, 'complete', 'pending') $$,
  'the directory retry and the job transition are audited with the staff actor');

-- Retry everything failed (job now pending) ----------------------------------------------
select is(jobs_retry(:'job', null, 'staff:bob'), 2, 'a retry without names requeues every failed directory (2)');
select results_eq(
  format($$ select directory_id, status::text, max_attempts from job_directories where job_id = %L order by position $$, :'job'),
  $$ values ('dir-a', 'queued', 4), ('dir-b', 'queued', 4), ('dir-c', 'submitted', 3), ('dir-d', 'queued', 6) $$,
  'dir-b and dir-d are queued with attempts + 3 each; dir-c stays submitted');
select is((select status::text from jobs where id = :'job'), 'pending', 'the pending job stays pending');
select is((select count(*)::int from audit_log where job_id = :'job' and action = 'job.retried'), 1,
  'no second job.retried row for a job that was already pending');
select throws_ok(format('select jobs_retry(%L, null, %L)', :'job', 'staff:bob'), 'DB002', NULL,
  'with nothing failed left, a retry is refused with DB002');
select throws_like(format('select jobs_retry(%L, null, %L)', :'job', 'staff:bob'),
  '%has no failed directories to retry', 'the message says there is nothing to retry');

-- The raised budget is honoured: dir-d may be attempted again.
select lease_token as token2 from jobs_next('worker-2', 300) \gset
select is((jobs_report_attempt(job_id => :'job', lease_token => :'token2',
  report => '{"directory_id": "dir-d", "attempt": 4, "outcome": "transient_error", "error_code": "timeout"}')).status::text, 'queued',
  'after a retry, a fourth transient error leaves dir-d queued (budget raised to 6)');

-- In-progress job: directories are requeued, the job keeps its lease ----------------------
select jobs_report_attempt(job_id => :'job', lease_token => :'token2',
  report => '{"directory_id": "dir-a", "attempt": 2, "outcome": "permanent_error", "error_code": "site_down"}') \gset
select is(jobs_retry(:'job', '{dir-a}', 'staff:carol'), 1, 'a failed directory of an in-progress job can be retried');
select results_eq(
  format($$ select status::text, lease_token from jobs where id = %L $$, :'job'),
  format($$ values ('in_progress', %L::uuid) $$, :'token2'),
  'the in-progress job keeps its status and lease');

-- Cancelled job: refused ------------------------------------------------------------------
select id as job_c from jobs_enqueue(dev.create_paid_order('cancelled@example.com', 'starter')) \gset
select jobs_cancel(:'job_c', 'staff:alice') \gset
select throws_ok(format('select jobs_retry(%L, null, %L)', :'job_c', 'staff:alice'), 'DB002', NULL,
  'retrying a cancelled job is refused with DB002');
select throws_like(format('select jobs_retry(%L, null, %L)', :'job_c', 'staff:alice'),
  '%is cancelled and cannot be retried', 'the message says the job is cancelled');
select is((select count(*)::int from job_directories where job_id = :'job_c' and status <> 'skipped'), 0,
  'the cancelled job''s directories stay skipped');

-- A job failed for losing its leases, with only queued work, goes back to pending ---------
select jobs_release(:'job', :'token2') \gset
select jobs_cancel(:'job', 'staff:alice') \gset
select id as job_f from jobs_enqueue(dev.create_paid_order('lost@example.com', 'starter')) \gset
select id as claimed_f from jobs_next('worker-3', 60) \gset
select is(:'claimed_f'::uuid, :'job_f'::uuid, 'set-up: the lease-losing job is claimed');
update jobs set lease_expires_at = now() - interval '1 second' where id = :'job_f';
select job_id from jobs_reap_expired(1) \gset
select is((select status::text from jobs where id = :'job_f'), 'failed', 'set-up: it failed after losing its lease');
select is(jobs_retry(:'job_f', null, 'staff:dave'), 0, 'retrying it requeues no directory (none failed)');
select results_eq(
  format($$ select status::text, lost_leases from jobs where id = %L $$, :'job_f'),
  $$ values ('pending', 0) $$, 'but the job is pending again with its lost leases reset');
select results_eq(
  format($$ select actor, from_status, to_status from audit_log where action = 'job.retried' and job_id = %L $$, :'job_f'),
  $$ values ('staff:dave', 'failed', 'pending') $$, 'and the retry is audited');

select * from finish();
rollback;
