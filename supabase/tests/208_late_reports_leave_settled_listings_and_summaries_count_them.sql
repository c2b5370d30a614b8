-- A late fenced report (a lost lease's attempt answering after another attempt took the
-- directory over) leaves a directory whose listing is settled as it is — live_mismatch and
-- already_listed as submitted and live — and staff are alerted. The job summary counts
-- already_listed and live_mismatch as successes (delivered, as the package counts them).
begin;
set search_path = public, extensions;
select plan(6);

select directories_sync($$[
  {"id": "dir-a", "name": "A", "homepage": "http://127.0.0.1:9/a", "tier": "starter", "priority": 1, "mode": "auto", "enabled": true},
  {"id": "dir-b", "name": "B", "homepage": "http://127.0.0.1:9/b", "tier": "starter", "priority": 2, "mode": "auto", "enabled": true}
]$$::jsonb) \gset
select id as job from jobs_enqueue(dev.create_paid_order('late-settled@example.com', 'starter')) \gset

-- Worker 1 fences both directories, then loses its lease: both are held for review.
select lease_token as l1 from jobs_next('worker-1', 300) \gset
select jobs_start_directory(:'job', :'l1', 'dir-a') \gset
select jobs_fence_submit(:'job', :'l1', 'dir-a', 1) \gset
select jobs_start_directory(:'job', :'l1', 'dir-b') \gset
select jobs_fence_submit(:'job', :'l1', 'dir-b', 1) \gset
update jobs set lease_expires_at = now() - interval '1 second' where id = :'job';
select jobs_reap_expired(3) \gset
select jobs_retry(:'job', '{dir-a,dir-b}', 'staff:ops') \gset

-- Worker 2: dir-a submitted, its listing then found with a wrong phone; dir-b found listed.
select lease_token as l2 from jobs_next('worker-2', 300) \gset
select jobs_start_directory(:'job', :'l2', 'dir-a') \gset
select jobs_fence_submit(:'job', :'l2', 'dir-a', 2) \gset
select jobs_report_attempt(:'job', :'l2',
  '{"directory_id": "dir-a", "attempt": 2, "outcome": "success", "confirmed": true, "listing_url": "https://a.example/l"}') \gset
select jobs_report_attempt(:'job', :'l2',
  '{"directory_id": "dir-b", "attempt": 2, "outcome": "already_listed", "listing_url": "https://b.example/l"}') \gset
update listing_checks set due_at = now() - interval '1 second' where job_id = :'job' and directory_id = 'dir-a';
select check_id, lease_token as ctoken from listing_checks_claim('checker-1', 1, 60) \gset
select listing_checks_report(:'check_id', :'ctoken', 'live_mismatch', 0.66, array['phone']) \gset
select results_eq(format($$ select directory_id, status::text from job_directories where job_id = %L order by directory_id $$, :'job'),
  $$ values ('dir-a', 'live_mismatch'), ('dir-b', 'already_listed') $$, 'settled: one listing up with a wrong phone, one found listed');

-- Worker 1's late reports of its fenced attempts arrive.
select jobs_report_attempt(:'job', :'l1',
  '{"directory_id": "dir-a", "attempt": 1, "outcome": "success", "confirmed": true, "listing_url": "https://a.example/l"}') \gset
select jobs_report_attempt(:'job', :'l1',
  '{"directory_id": "dir-b", "attempt": 1, "outcome": "success", "confirmed": true, "listing_url": "https://b.example/other"}') \gset
select results_eq(format($$ select directory_id, status::text from job_directories where job_id = %L order by directory_id $$, :'job'),
  $$ values ('dir-a', 'live_mismatch'), ('dir-b', 'already_listed') $$, 'the late reports leave them as they are');
select results_eq(format($$ select directory_id, details ->> 'verdict' from audit_log
                             where job_id = %L and action = 'directory.late_report' order by directory_id $$, :'job'),
  $$ values ('dir-a', 'flagged'), ('dir-b', 'flagged') $$, 'each is recorded and flagged');
select ok(exists (select 1 from alerts where kind = 'late_report_conflict' and cleared_at is null),
  'staff are alerted to check for a duplicate');

-- The summary counts both as successes.
select jobs_complete(:'job', :'l2') \gset
select is((select (summary ->> 'successes')::int from job_reports where job_id = :'job'), 2,
  'the summary counts already_listed and live_mismatch as successes');
select is((private.job_summary(:'job') ->> 'failures')::int, 0, 'and no failures');

select * from finish();
rollback;
