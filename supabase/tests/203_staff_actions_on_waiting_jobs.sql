-- Staff on a waiting job: pause takes it (no lease to revoke; its directories stay parked),
-- resume returns it to waiting when nothing is due, cancel skips parked directories, retry
-- wakes it when it gives it work and starts the retried directory afresh; queue_stats counts
-- its directories as active.
begin;
set search_path = public, extensions;
select plan(14);

select directories_sync($$[
  {"id": "dir-a", "name": "A", "homepage": "http://127.0.0.1:9/a", "tier": "starter", "priority": 1, "mode": "auto", "enabled": true},
  {"id": "dir-b", "name": "B", "homepage": "http://127.0.0.1:9/b", "tier": "starter", "priority": 2, "mode": "auto", "enabled": true}
]$$::jsonb) \gset
select id as job from jobs_enqueue(dev.create_paid_order('staff-wait@example.com', 'starter')) \gset
select lease_token as token from jobs_next('worker-1', 300) \gset
select jobs_report_attempt(:'job', :'token',
  '{"directory_id": "dir-a", "attempt": 1, "outcome": "parked", "wait_kind": "email", "wait_seconds": 7200, "resume_phase": "verify_email"}') \gset
select jobs_report_attempt(:'job', :'token',
  '{"directory_id": "dir-b", "attempt": 1, "outcome": "permanent_error", "error_code": "site_down"}') \gset
select is((select status::text from jobs_complete(:'job', :'token')), 'waiting', 'the job waits');

select is((queue_stats() #>> '{directories,waiting}')::int, 1, 'queue_stats counts the waiting job''s parked directory');
select is((queue_stats() #>> '{jobs,waiting}')::int, 1, 'and the waiting job');

-- Pause and resume.
select results_eq(format($$ select status::text, wake_at, staff_reason from jobs_pause(%L, 'staff:ops', 'checking the site') $$, :'job'),
  $$ values ('paused', null::timestamptz, 'checking the site') $$, 'a waiting job can be paused (wake_at cleared)');
select is((select status::text from job_directories where job_id = :'job' and directory_id = 'dir-a'), 'waiting',
  'its parked directory stays parked');
select results_eq(format($$ select from_status, to_status from audit_log where job_id = %L and action = 'job.paused' $$, :'job'),
  $$ values ('waiting', 'paused') $$, 'the pause is audited from waiting');
create temp table resumed as select * from jobs_resume(:'job', 'staff:ops');
select results_eq($$ select status::text, wake_at from resumed $$,
  format($$ values ('waiting', (select wait_until from job_directories where job_id = %L and directory_id = 'dir-a')) $$, :'job'),
  'resumed with nothing due, it waits again until the parked directory''s time');
select results_eq(format($$ select from_status, to_status from audit_log where job_id = %L and action = 'job.resumed' $$, :'job'),
  $$ values ('paused', 'waiting') $$, 'the resume is audited to waiting');

-- Retry: the failed directory is re-queued and the waiting job woken.
select is(jobs_retry(:'job', null, 'staff:ops'), 1, 'the failed directory is retried');
select results_eq(format($$ select status::text, wake_at from jobs where id = %L $$, :'job'),
  $$ values ('pending', null::timestamptz) $$, 'a waiting job given work is pending again');
select results_eq(format($$ select to_status, details ->> 'why' from audit_log where job_id = %L and action = 'job.woken' $$, :'job'),
  $$ values ('pending', 'staff retry') $$, 'woken by the retry, audited');

-- A retried directory that had parked starts afresh.
update job_directories set status = 'needs_action', action_required = 'x', wait_kind = null, wait_until = null
 where job_id = :'job' and directory_id = 'dir-a';
select is(jobs_retry(:'job', '{dir-a}', 'staff:ops'), 1, 'the named directory is retried');
select results_eq(format($$ select status::text, phase, wake_mail_id from job_directories where job_id = %L and directory_id = 'dir-a' $$, :'job'),
  $$ values ('queued', null::text, null::bigint) $$, 'with no resume point left over');

-- Cancel skips a parked directory.
select lease_token as token2 from jobs_next('worker-2', 300) \gset
select jobs_report_attempt(:'job', :'token2',
  '{"directory_id": "dir-a", "attempt": 2, "outcome": "parked", "wait_kind": "moderation", "wait_seconds": 7200, "resume_phase": "confirm"}') \gset
select jobs_report_attempt(:'job', :'token2',
  '{"directory_id": "dir-b", "attempt": 2, "outcome": "parked", "wait_kind": "email", "wait_seconds": 7200, "resume_phase": "verify_email"}') \gset
select jobs_complete(:'job', :'token2') \gset
select jobs_cancel(:'job', 'staff:ops', 'customer asked') \gset
select results_eq(format($$ select directory_id, status::text, wait_kind, wait_until from job_directories where job_id = %L order by directory_id $$, :'job'),
  -- dir-a waits at phase confirm: past its submit, it is held for review (206), not skipped.
  $$ values ('dir-a', 'needs_review', null::text, null::timestamptz), ('dir-b', 'skipped', null::text, null::timestamptz) $$,
  'cancelling a waiting job skips its parked directories (one past its submit is held for review), their waits over');

select * from finish();
rollback;
