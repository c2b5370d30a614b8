-- The reaper fails a job that lost its lease too often even when some of its directories are
-- parked. Nothing wakes a failed job; staff's retry reopens it for that parked work as
-- jobs_complete would leave it: waiting until its earliest parked directory's time (then
-- the usual wake-up and email timeout apply), or pending when one is due.
begin;
set search_path = public, extensions;
select plan(8);

select directories_sync($$[
  {"id": "dir-a", "name": "A", "homepage": "http://127.0.0.1:9/a", "tier": "starter", "priority": 1, "mode": "auto", "enabled": true},
  {"id": "dir-b", "name": "B", "homepage": "http://127.0.0.1:9/b", "tier": "starter", "priority": 2, "mode": "auto", "enabled": true}
]$$::jsonb) \gset
select id as job from jobs_enqueue(dev.create_paid_order('reaped-parked@example.com', 'starter')) \gset
update jobs set lost_leases = 2 where id = :'job';
select lease_token as token from jobs_next('worker-1', 300) \gset
select jobs_start_directory(:'job', :'token', 'dir-a') \gset
select jobs_report_attempt(:'job', :'token',
  '{"directory_id": "dir-a", "attempt": 1, "outcome": "parked", "wait_kind": "email", "wait_seconds": 3600, "resume_phase": "verify_email"}') \gset
select jobs_report_attempt(:'job', :'token',
  '{"directory_id": "dir-b", "attempt": 1, "outcome": "success", "confirmed": true, "listing_url": "https://b.example/l"}') \gset
-- The worker dies before jobs_complete; its third lost lease fails the job.
update jobs set lease_expires_at = now() - interval '1 second' where id = :'job';
select results_eq(format($$ select status::text from jobs_reap_expired(3) where job_id = %L $$, :'job'),
  $$ values ('failed') $$, 'the reaper fails the job');
select is((select status::text from job_directories where job_id = :'job' and directory_id = 'dir-a'),
  'waiting', 'with its directory still parked');

select is(jobs_retry(:'job', null, 'staff:ops'), 0, 'the retry reopens it though no directory failed');
select results_eq(format($$ select status::text, wake_at, lost_leases from jobs where id = %L $$, :'job'),
  format($$ values ('waiting', (select wait_until from job_directories where job_id = %L and directory_id = 'dir-a'), 0) $$, :'job'),
  'it waits again, until the parked directory''s time');
select results_eq(format($$ select from_status, to_status from audit_log where job_id = %L and action = 'job.retried' $$, :'job'),
  $$ values ('failed', 'waiting') $$, 'audited');

-- Its email wait then times out as any other.
update job_directories set wait_until = now() - interval '1 second' where job_id = :'job' and directory_id = 'dir-a';
update jobs set wake_at = now() - interval '1 second' where id = :'job';
select results_eq(format($$ select directory_id, action from jobs_wake_due('waker', 'mail.example.com') where job_id = %L $$, :'job'),
  $$ values ('dir-a'::text, 're_signup'::text), (null, 'woken') $$, 'its email wait times out into a new sign-up and the job is woken');

-- Failed again with only a due parked directory: reopened as pending.
select lease_token as token2 from jobs_next('worker-2', 300) \gset
select jobs_start_directory(:'job', :'token2', 'dir-a') \gset
select jobs_report_attempt(:'job', :'token2',
  '{"directory_id": "dir-a", "attempt": 2, "outcome": "parked", "wait_kind": "moderation", "wait_seconds": 0, "resume_phase": "confirm"}') \gset
update jobs set status = 'failed', lease_token = null, lease_expires_at = null, worker_id = null where id = :'job';
select is(jobs_retry(:'job', null, 'staff:ops'), 0, 'retried again');
select is((select status::text from jobs where id = :'job'), 'pending', 'with the parked directory due, it is pending');

select * from finish();
rollback;
