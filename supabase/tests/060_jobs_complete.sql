-- jobs_complete: only the lease holder completes, and only once no directory is queued or
-- in progress; completion writes the customer's report and gives the tier slot back.
begin;
set search_path = public, extensions;
select plan(18);

select directories_sync($$[
  {"id": "dir-a", "name": "A", "homepage": "http://127.0.0.1:9/a", "tier": "starter", "priority": 1, "mode": "auto", "enabled": true},
  {"id": "dir-b", "name": "B", "homepage": "http://127.0.0.1:9/b", "tier": "starter", "priority": 2, "mode": "auto", "enabled": true},
  {"id": "dir-c", "name": "C", "homepage": "http://127.0.0.1:9/c", "tier": "starter", "priority": 3, "mode": "auto", "enabled": true}
]$$::jsonb) \gset

select id as job from jobs_enqueue(dev.create_paid_order('done@example.com', 'starter')) \gset
select lease_token as token from jobs_next('worker-1', 300) \gset
select is((select running from tiers where name = 'starter'), 1, 'the claim took a starter slot');

select throws_ok(format('select jobs_complete(%L, %L)', :'job', :'token'), 'DB002', NULL,
  'completing while directories are queued is refused with DB002');
select throws_like(format('select jobs_complete(%L, %L)', :'job', :'token'),
  '%still has 3 directories to do', 'the message counts the directories left');

select jobs_report_attempt(job_id => :'job', lease_token => :'token',
  report => '{"directory_id": "dir-a", "attempt": 1, "outcome": "success", "confirmed": true, "listing_url": "https://a.example/l"}') \gset
select jobs_report_attempt(job_id => :'job', lease_token => :'token',
  report => '{"directory_id": "dir-b", "attempt": 1, "outcome": "transient_error", "error_code": "timeout"}') \gset
select jobs_start_directory(:'job', :'token', 'dir-c') \gset

select throws_like(format('select jobs_complete(%L, %L)', :'job', :'token'),
  '%still has 2 directories to do',
  'a directory back in queued after a transient error and one in progress still block completion');

select jobs_report_attempt(job_id => :'job', lease_token => :'token',
  report => '{"directory_id": "dir-b", "attempt": 2, "outcome": "permanent_error", "error_code": "form_gone"}') \gset
select jobs_report_attempt(job_id => :'job', lease_token => :'token',
  report => '{"directory_id": "dir-c", "attempt": 1, "outcome": "success", "confirmed": false}') \gset

select throws_ok(format('select jobs_complete(%L, gen_random_uuid())', :'job'), 'DB001', NULL,
  'completing with a stale token is refused with DB001');
select results_eq(
  format($$ select status::text, lease_token from jobs where id = %L $$, :'job'),
  format($$ values ('in_progress', %L::uuid) $$, :'token'),
  'the refused completions left the job in progress under its lease');
select is((select count(*)::int from job_reports where job_id = :'job'), 0,
  'and wrote no report');

create temp table completed as select * from jobs_complete(:'job', :'token');
select results_eq(
  $$ select status::text, completed_at, lease_token, lease_expires_at, worker_id from completed $$,
  $$ values ('complete', now(), null::uuid, null::timestamptz, null::text) $$,
  'completing with the current token returns the job complete, unleased, with completed_at');
select results_eq(
  format($$ select status::text, completed_at from jobs where id = %L $$, :'job'),
  $$ values ('complete', now()) $$, 'the stored job is complete');
select is((select running from tiers where name = 'starter'), 0, 'the starter slot was released (running 1 -> 0)');

select is((select count(*)::int from job_reports where job_id = :'job'), 1, 'one job_reports row was written');
select is((select summary - 'started_at' - 'completed_at' from job_reports where job_id = :'job'),
  '{"directories": 3, "successes": 1, "failures": 1, "attempts": 4, "retries": 1,
    "by_status": {"submitted": 1, "failed": 1, "needs_review": 1},
    "seconds_to_complete": 0}'::jsonb,
  'the summary counts directories, successes, failures, attempts and retries');
select ok((select summary ? 'started_at' and summary ? 'completed_at' from job_reports where job_id = :'job'),
  'the summary carries started_at and completed_at');

select results_eq(
  $$ select current_job_id from workers where id = 'worker-1' $$,
  $$ values (null::uuid) $$, 'the worker no longer has a current job');
select results_eq(
  format($$ select actor, from_status, to_status from audit_log where action = 'job.completed' and job_id = %L $$, :'job'),
  $$ values ('worker:worker-1', 'in_progress', 'complete') $$,
  'the completion is audited with the worker as actor');

select throws_ok(format('select jobs_complete(%L, %L)', :'job', :'token'), 'DB001', NULL,
  'completing a second time with the same token is refused with DB001');
select throws_like(format('select jobs_complete(%L, %L)', :'job', :'token'),
  '%the job is complete now', 'the message says the job is already complete');
select is((select running from tiers where name = 'starter'), 0, 'running did not go below zero');

select * from finish();
rollback;
