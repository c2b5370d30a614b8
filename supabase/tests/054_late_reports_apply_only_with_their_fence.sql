-- A late report (its lease lost) changes a directory only where it can be the attempt that
-- lease made: its number is at most the directory's attempts + 1, and a listing (success,
-- needs_action) needs that lease's fence for that attempt. Otherwise it is recorded as a late
-- fact and changes nothing.
begin;
set search_path = public, extensions;
select plan(13);

select directories_sync($$[
  {"id": "dir-a", "name": "A", "homepage": "http://127.0.0.1:9/a", "tier": "starter", "priority": 1, "mode": "auto", "enabled": true},
  {"id": "dir-b", "name": "B", "homepage": "http://127.0.0.1:9/b", "tier": "starter", "priority": 2, "mode": "auto", "enabled": true},
  {"id": "dir-c", "name": "C", "homepage": "http://127.0.0.1:9/c", "tier": "starter", "priority": 3, "mode": "auto", "enabled": true}
]$$::jsonb) \gset
select id as job from jobs_enqueue(dev.create_paid_order('late@example.com', 'starter')) \gset
select lease_token as token1 from jobs_next('worker-1', 300) \gset
select jobs_start_directory(:'job', :'token1', 'dir-a') \gset
select jobs_start_directory(:'job', :'token1', 'dir-b') \gset
select jobs_start_directory(:'job', :'token1', 'dir-c') \gset
select jobs_fence_submit(:'job', :'token1', 'dir-b', 1) \gset
select jobs_pause(:'job', 'staff:pat', 'Checking the address') \gset
select results_eq(
  format($$ select directory_id, status::text from job_directories where job_id = %L order by position $$, :'job'),
  $$ values ('dir-a', 'queued'), ('dir-b', 'needs_review'), ('dir-c', 'queued') $$,
  'after the pause: the fenced directory held, the others queued');

select throws_ok(
  format($$ select jobs_report_attempt(%L, %L,
             '{"directory_id": "dir-a", "attempt": 100, "outcome": "success", "confirmed": true}') $$, :'job', :'token1'),
  'DB005', 'attempt must be at most 1 for directory dir-a (got 100)',
  'a late report naming an attempt the directory cannot have had is refused');
select is(
  (jobs_report_attempt(:'job', :'token1',
     '{"directory_id": "dir-a", "attempt": 1, "outcome": "success", "confirmed": true, "listing_url": "https://evil.example/"}')).status::text,
  'queued', 'an unfenced late "success" is not applied: the worker fences before every submit');
select is((select late from job_results where job_id = :'job' and directory_id = 'dir-a'), true,
  'it is still recorded, as a late fact');
select is((select listing_url from job_directories where job_id = :'job' and directory_id = 'dir-a'), null,
  'and its listing URL is not the directory''s');
select is(
  (jobs_report_attempt(:'job', :'token1',
     '{"directory_id": "dir-c", "attempt": 1, "outcome": "permanent_error", "error_code": "form_gone"}')).status::text,
  'failed', 'an unfenced late failure of the attempt the lease made is applied');
select is(
  (jobs_report_attempt(:'job', :'token1',
     '{"directory_id": "dir-b", "attempt": 1, "outcome": "success", "confirmed": true, "listing_url": "https://b.example/l"}')).status::text,
  'submitted', 'the fenced attempt''s late success is applied to the directory held for it');
select is(
  (select count(*)::int from audit_log where job_id = :'job' and action = 'directory.late_report'),
  3, 'every late report is audited, applied or not');

-- A fenced attempt's late success on a directory handed to another attempt: both kept, flagged.
select directories_sync($$[
  {"id": "dir-a", "name": "A", "homepage": "http://127.0.0.1:9/a", "tier": "starter", "priority": 1, "mode": "auto", "enabled": true}
]$$::jsonb) \gset
select id as job2 from jobs_enqueue(dev.create_paid_order('handed@example.com', 'starter')) \gset
-- (the first job stays paused, so the queue hands out this one)
select lease_token as token_a from jobs_next('worker-a', 300) \gset
select jobs_start_directory(:'job2', :'token_a', 'dir-a') \gset
select jobs_fence_submit(:'job2', :'token_a', 'dir-a', 1) \gset
select jobs_pause(:'job2', 'staff:pat', 'Checking') \gset
select jobs_resume(:'job2', 'staff:pat') \gset
select jobs_retry(:'job2', array['dir-a'], 'staff:pat') \gset
select lease_token as token_b from jobs_next('worker-b', 300) \gset
select jobs_start_directory(:'job2', :'token_b', 'dir-a') \gset
select jobs_fence_submit(:'job2', :'token_b', 'dir-a', 2) \gset
select is(
  (jobs_report_attempt(:'job2', :'token_a',
     '{"directory_id": "dir-a", "attempt": 1, "outcome": "success", "confirmed": true}')).status::text,
  'needs_review', 'the fenced attempt''s late success on a directory another attempt is submitting: flagged');
select is((select count(*)::int from alerts where kind = 'late_report_conflict' and cleared_at is null), 1,
  'staff get an alert');
select is((select details ->> 'verdict' from audit_log where job_id = :'job2' and action = 'directory.late_report'),
  'flagged', 'audited as flagged');
-- The current holder's own answer does not undo the flag: staff decide (20261205000520).
select is(
  (jobs_report_attempt(:'job2', :'token_b',
     '{"directory_id": "dir-a", "attempt": 2, "outcome": "permanent_error", "error_code": "duplicate_listing"}')).status::text,
  'needs_review', 'a later attempt''s answer on the flagged directory is kept and leaves it for staff');
select is((select replaced_by from job_directories where job_id = :'job2' and directory_id = 'dir-a'), null,
  'and nothing replaces a directory whose listing may exist');

select * from finish();
rollback;
