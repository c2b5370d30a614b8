-- A parked or already_listed report whose lease was lost (pause, reap, release) is a fact
-- kept and changes nothing: the parked attempt's wait went with its lease, and an
-- already_listed claim carries no fence, so a stale token cannot mark a directory delivered.
-- A directory that keeps parking goes to staff review instead of waiting for ever.
begin;
set search_path = public, extensions;
select plan(8);

select directories_sync($$[
  {"id": "dir-a", "name": "A", "homepage": "http://127.0.0.1:9/a", "tier": "starter", "priority": 1, "mode": "auto", "enabled": true},
  {"id": "dir-b", "name": "B", "homepage": "http://127.0.0.1:9/b", "tier": "starter", "priority": 2, "mode": "auto", "enabled": true}
]$$::jsonb) \gset
select id as job from jobs_enqueue(dev.create_paid_order('late-park@example.com', 'starter')) \gset
select lease_token as token from jobs_next('worker-1', 300) \gset
select jobs_start_directory(:'job', :'token', 'dir-a') \gset
select jobs_start_directory(:'job', :'token', 'dir-b') \gset
select jobs_pause(:'job', 'staff:ops', 'checking') \gset

select results_eq(format($$ select status::text, wait_kind from jobs_report_attempt(%L, %L, '{"directory_id": "dir-a", "attempt": 1, "outcome": "parked", "wait_kind": "email", "wait_seconds": 3600, "resume_phase": "verify_email"}') $$, :'job', :'token'),
  $$ values ('queued', null::text) $$, 'a late parked report leaves the directory queued');
select results_eq(format($$ select status::text, listing_url from jobs_report_attempt(%L, %L, '{"directory_id": "dir-b", "attempt": 1, "outcome": "already_listed", "listing_url": "https://b.example/l"}') $$, :'job', :'token'),
  $$ values ('queued', null::text) $$, 'a late already_listed report does not mark the directory delivered');
select results_eq(format($$ select directory_id, outcome::text, late, wait_kind from job_results where job_id = %L order by directory_id $$, :'job'),
  $$ values ('dir-a', 'parked', true, 'email'), ('dir-b', 'already_listed', true, null) $$,
  'both are recorded as late facts');
select results_eq(format($$ select directory_id, details ->> 'verdict' from audit_log where job_id = %L and action = 'directory.late_report' order by directory_id $$, :'job'),
  $$ values ('dir-a', 'recorded'), ('dir-b', 'recorded') $$, 'audited as recorded');

-- Parking for ever is not allowed: the 20th park goes to staff review.
select jobs_resume(:'job', 'staff:ops') \gset
select lease_token as token2 from jobs_next('worker-2', 300) \gset
update job_directories set attempts = 18, max_attempts = 21 where job_id = :'job' and directory_id = 'dir-b';
insert into job_results (job_id, directory_id, attempt, outcome, wait_kind, wait_seconds, resume_phase, lease_token)
select :'job', 'dir-b', n, 'parked', 'moderation', 60, 'confirm', :'token2' from generate_series(1, 18) n;
select is((select status::text from jobs_report_attempt(:'job', :'token2',
  '{"directory_id": "dir-b", "attempt": 19, "outcome": "parked", "wait_kind": "moderation", "wait_seconds": 60, "resume_phase": "confirm"}')),
  'waiting', 'the 19th park still waits');
update job_directories set status = 'in_progress' where job_id = :'job' and directory_id = 'dir-b';
create temp table twentieth as select * from jobs_report_attempt(:'job', :'token2',
  '{"directory_id": "dir-b", "attempt": 20, "outcome": "parked", "wait_kind": "moderation", "wait_seconds": 60, "resume_phase": "confirm"}');
select results_eq($$ select status::text, wait_kind, max_attempts from twentieth $$,
  $$ values ('needs_review', null::text, 22) $$, 'the 20th park goes to staff review, its budget not grown');
select alike((select last_message from twentieth), 'Parked 20 times (waiting for its moderation)%', 'saying why, for staff');
select results_eq(format($$ select to_status, (details ->> 'too_many_parks')::boolean from audit_log where job_id = %L and directory_id = 'dir-b' and action = 'directory.attempt_reported' order by id desc limit 1 $$, :'job'),
  $$ values ('needs_review', true) $$, 'audited');

select * from finish();
rollback;
