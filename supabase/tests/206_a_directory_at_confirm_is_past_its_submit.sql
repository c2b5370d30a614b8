-- A directory parked at phase confirm (submitted, the listing waiting for moderation) is past
-- its submit: the attempt that resumes it is fenced, so a timeout at the confirm page or a
-- lost lease holds it for review; a staff retry keeps its phase (the worker is handed a resume
-- at confirm, queued or not); a cancel holds it for review instead of skipping it. Nothing
-- sends it back to lookup or sign-up, where it would submit again.
begin;
set search_path = public, extensions;
select plan(16);

select directories_sync($$[
  {"id": "dir-a", "name": "A", "homepage": "http://127.0.0.1:9/a", "tier": "starter", "priority": 1, "mode": "auto", "enabled": true},
  {"id": "dir-b", "name": "B", "homepage": "http://127.0.0.1:9/b", "tier": "starter", "priority": 2, "mode": "auto", "enabled": true},
  {"id": "dir-c", "name": "C", "homepage": "http://127.0.0.1:9/c", "tier": "starter", "priority": 3, "mode": "auto", "enabled": true}
]$$::jsonb) \gset
select id as job from jobs_enqueue(dev.create_paid_order('confirm-fence@example.com', 'starter')) \gset
select lease_token as token from jobs_next('worker-1', 300) \gset

-- dir-a: fenced and submitted; the confirm page says "pending moderation" (due at once).
select jobs_start_directory(:'job', :'token', 'dir-a') \gset
select jobs_fence_submit(:'job', :'token', 'dir-a', 1) \gset
select jobs_report_attempt(:'job', :'token',
  '{"directory_id": "dir-a", "attempt": 1, "outcome": "parked", "wait_kind": "moderation", "wait_seconds": 0, "resume_phase": "confirm"}') \gset

-- The resumed attempt is fenced.
select jobs_start_directory(:'job', :'token', 'dir-a') \gset
select results_eq(format($$ select attempt, lease_token = %L::uuid from private.submit_fences
                             where job_id = %L and directory_id = 'dir-a' order by attempt $$, :'token', :'job'),
  $$ values (1, true), (2, true) $$, 'the attempt resuming at confirm is fenced under the job''s lease');
select results_eq(format($$ select from_status, to_status, details from audit_log
                             where job_id = %L and directory_id = 'dir-a' and action = 'directory.submitting' order by id $$, :'job'),
  $$ values ('in_progress', 'in_progress', '{"attempt": 1}'::jsonb),
            ('in_progress', 'in_progress', '{"attempt": 2, "phase": "confirm", "past_submit": true}'::jsonb) $$,
  'audited as a submit fence, past the submit');

-- A timeout at the confirm page: the fence rule holds it for review.
select is((select status::text from jobs_report_attempt(:'job', :'token',
  '{"directory_id": "dir-a", "attempt": 2, "outcome": "transient_error", "error_code": "timeout"}')),
  'needs_review', 'a timeout at the confirm page is not retried blindly');

-- A named retry keeps the phase; the worker is handed a resume at confirm.
select is(jobs_retry(:'job', '{dir-a}', 'staff:ops'), 1, 'staff retry the directory');
select results_eq(format($$ select status::text, phase from job_directories where job_id = %L and directory_id = 'dir-a' $$, :'job'),
  $$ values ('queued', 'confirm') $$, 'retried, it keeps its phase confirm');
select is((select d #>> '{resume,phase}' from jsonb_array_elements(jobs_assignment(:'job', :'token') -> 'directories') d
            where d ->> 'directory_id' = 'dir-a'),
  'confirm', 'the worker is handed a resume at confirm for the queued directory');

-- A site that answered "unavailable" is retried as usual, and an attempt reported without
-- announcing its start is fenced too.
select is((select status::text from jobs_report_attempt(:'job', :'token',
  '{"directory_id": "dir-a", "attempt": 3, "outcome": "transient_error", "error_code": "site_unavailable"}')),
  'queued', 'a site that answered "unavailable" at confirm is retried');
select is((select count(*)::int from private.submit_fences where job_id = :'job' and directory_id = 'dir-a' and attempt = 3),
  1, 'an attempt reported without announcing its start is fenced too');

-- Attempts spent: failed. The unnamed retry keeps the phase too (it used to clear it, and
-- the next attempt looked the business up and submitted again).
select jobs_report_attempt(:'job', :'token',
  '{"directory_id": "dir-a", "attempt": 4, "outcome": "transient_error", "error_code": "site_unavailable"}') \gset
select is((select status::text from jobs_report_attempt(:'job', :'token',
  '{"directory_id": "dir-a", "attempt": 5, "outcome": "transient_error", "error_code": "site_unavailable"}')),
  'failed', 'attempts spent at the confirm page: failed');
select is(jobs_retry(:'job', null, 'staff:ops'), 1, 'the unnamed retry takes the failed directory');
select results_eq(format($$ select status::text, phase from job_directories where job_id = %L and directory_id = 'dir-a' $$, :'job'),
  $$ values ('queued', 'confirm') $$, 'still at phase confirm');

-- A lost lease (a pause) while it is at the confirm page: held for review, not re-queued.
select jobs_start_directory(:'job', :'token', 'dir-a') \gset
select jobs_pause(:'job', 'staff:ops', 'checking') \gset
select results_eq(format($$ select status::text, attempts from job_directories where job_id = %L and directory_id = 'dir-a' $$, :'job'),
  $$ values ('needs_review', 6) $$, 'a pause while it resumed at confirm holds it for review');
select jobs_resume(:'job', 'staff:ops') \gset
select lease_token as token2 from jobs_next('worker-2', 300) \gset

-- dir-b parked at confirm (not due); dir-c queued at confirm after a refusal there.
select jobs_start_directory(:'job', :'token2', 'dir-b') \gset
select jobs_fence_submit(:'job', :'token2', 'dir-b', 1) \gset
select jobs_report_attempt(:'job', :'token2',
  '{"directory_id": "dir-b", "attempt": 1, "outcome": "parked", "wait_kind": "moderation", "wait_seconds": 3600, "resume_phase": "confirm"}') \gset
select jobs_start_directory(:'job', :'token2', 'dir-c') \gset
select jobs_fence_submit(:'job', :'token2', 'dir-c', 1) \gset
select jobs_report_attempt(:'job', :'token2',
  '{"directory_id": "dir-c", "attempt": 1, "outcome": "parked", "wait_kind": "moderation", "wait_seconds": 0, "resume_phase": "confirm"}') \gset
select jobs_start_directory(:'job', :'token2', 'dir-c') \gset
select jobs_report_attempt(:'job', :'token2',
  '{"directory_id": "dir-c", "attempt": 2, "outcome": "transient_error", "error_code": "rate_limited"}') \gset
select results_eq(format($$ select directory_id, status::text, phase from job_directories where job_id = %L and directory_id <> 'dir-a' order by directory_id $$, :'job'),
  $$ values ('dir-b', 'waiting', 'confirm'), ('dir-c', 'queued', 'confirm') $$, 'before the cancel: one parked, one queued, both at confirm');

-- A cancel holds both for review: they were submitted.
select jobs_cancel(:'job', 'staff:ops', 'customer asked') \gset
select results_eq(format($$ select directory_id, status::text, last_message from job_directories where job_id = %L and directory_id <> 'dir-a' order by directory_id $$, :'job'),
  $$ values ('dir-b', 'needs_review', 'The submission was sent; the listing was not confirmed before the work stopped. Our team checks the site before anything is submitted again.'),
            ('dir-c', 'needs_review', 'The submission was sent; the listing was not confirmed before the work stopped. Our team checks the site before anything is submitted again.') $$,
  'a cancel holds a directory past its submit for review, not skipped');
select results_eq(format($$ select directory_id, from_status, to_status, details ->> 'cause' from audit_log
                             where job_id = %L and action = 'directory.past_submit_held' order by directory_id $$, :'job'),
  $$ values ('dir-b', 'waiting', 'needs_review', 'cancelled'), ('dir-c', 'queued', 'needs_review', 'cancelled') $$,
  'audited');
select is((select count(*)::int from job_directories where job_id = :'job' and status = 'skipped'), 0,
  'nothing submitted is recorded as skipped');

select * from finish();
rollback;
