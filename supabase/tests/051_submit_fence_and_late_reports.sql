-- Exactly one submission per directory across lost leases (issue 13): the `submitting` fence
-- is recorded only under the lease; a directory fenced but never reported is held for review
-- (needs_review, saying the submit may have gone through) by pause, release, reap and cancel
-- instead of being re-queued; a late report is recorded (never dropped), applied where the
-- directory still waits for it, flagged for staff where another attempt took it over, and
-- refused without proof that its lease token belonged to the job.
begin;
set search_path = public, extensions;
select plan(42);

select directories_sync($$[
  {"id": "dir-a", "name": "A", "homepage": "http://127.0.0.1:9/a", "tier": "starter", "priority": 1, "mode": "auto", "enabled": true},
  {"id": "dir-b", "name": "B", "homepage": "http://127.0.0.1:9/b", "tier": "starter", "priority": 2, "mode": "auto", "enabled": true},
  {"id": "dir-c", "name": "C", "homepage": "http://127.0.0.1:9/c", "tier": "starter", "priority": 3, "mode": "auto", "enabled": true}
]$$::jsonb) \gset

update tiers set max_running = 10 where name = 'starter';
select id as job from jobs_enqueue(dev.create_paid_order('fence@example.com', 'starter')) \gset
select lease_token as token1 from jobs_next('worker-1', 300) \gset
select id as other_job from jobs_enqueue(dev.create_paid_order('other@example.com', 'starter')) \gset
select lease_token as other_token from jobs_next('worker-9', 300) \gset

-- The fence ---------------------------------------------------------------------------------
select throws_ok(format('select jobs_fence_submit(%L, %L, %L, 1)', :'job', :'token1', 'dir-a'), 'DB002',
  NULL, 'a directory not started (queued) cannot be fenced: do not submit');
select jobs_start_directory(:'job', :'token1', 'dir-a') \gset
select jobs_start_directory(:'job', :'token1', 'dir-b') \gset
select throws_ok(format('select jobs_fence_submit(%L, %L, %L, 2)', :'job', :'token1', 'dir-a'), 'DB005',
  'attempt must be 1 for directory dir-a (got 2)', 'the fence names the attempt it expects');
select throws_ok(format('select jobs_fence_submit(%L, gen_random_uuid(), %L, 1)', :'job', 'dir-a'), 'DB001',
  NULL, 'a fence without the lease is refused (DB001): the worker must not submit');
select throws_ok(format('select jobs_fence_submit(%L, %L, %L, 1)', :'job', :'other_token', 'dir-a'), 'DB001',
  NULL, 'another job''s lease cannot fence this job');
select is((jobs_fence_submit(:'job', :'token1', 'dir-a', 1)).status::text, 'in_progress',
  'under the lease the fence is recorded');
select is((jobs_fence_submit(:'job', :'token1', 'dir-a', 1)).status::text, 'in_progress',
  'a resent fence is acknowledged');
select is((select count(*)::int from audit_log where job_id = :'job' and action = 'directory.submitting'), 1,
  'the fence is audited once');
select is((select details from audit_log where job_id = :'job' and action = 'directory.submitting'),
  '{"attempt": 1}'::jsonb, 'the audit row names the attempt');

-- A pause while dir-a's submit is in flight: dir-a is held, dir-b (not fenced) re-queued ---
select jobs_pause(:'job', 'staff:pat', 'Checking your business address with you') \gset
select results_eq(
  format($$ select directory_id, status::text, attempts from job_directories where job_id = %L order by position $$, :'job'),
  $$ values ('dir-a', 'needs_review', 1), ('dir-b', 'queued', 0), ('dir-c', 'queued', 0) $$,
  'the fenced directory is held for review (its attempt counted); the other is re-queued');
select matches((select last_message from job_directories where job_id = :'job' and directory_id = 'dir-a'),
  'may have gone through', 'the held directory says the submit may have gone through');
select results_eq(
  format($$ select actor, from_status, to_status, details from audit_log
             where job_id = %L and action = 'directory.fence_unresolved' $$, :'job'),
  $$ values ('staff:pat', 'in_progress', 'needs_review', '{"attempt": 1, "worker_id": "worker-1", "cause": "paused"}'::jsonb) $$,
  'holding it is audited with the fenced attempt and the cause');

-- Late reports: proof first ----------------------------------------------------------------
select throws_ok(
  format($$ select jobs_report_attempt(%L, gen_random_uuid(),
             '{"directory_id": "dir-a", "attempt": 1, "outcome": "success", "confirmed": true}') $$, :'job'),
  'DB001', NULL, 'a late report with a token the job never held is refused (DB001)');
select throws_ok(
  format($$ select jobs_report_attempt(%L, %L,
             '{"directory_id": "dir-a", "attempt": 1, "outcome": "success", "confirmed": true}') $$, :'job', :'other_token'),
  'DB001', NULL, 'a lease of another job is no proof either');
select throws_ok(
  format($$ select jobs_report_attempt(%L, %L,
             '{"directory_id": "dir-a", "attempt": 1, "outcome": "success", "late": false}') $$, :'job', :'token1'),
  'DB005', 'late is not a field of a report', 'a worker cannot say whether its report is late');
select is((select count(*)::int from job_results where job_id = :'job'), 0, 'nothing was written by the refusals');

-- The fenced attempt's answer arrives after the pause: applied to the held directory -------
select is(
  (jobs_report_attempt(:'job', :'token1',
     '{"directory_id": "dir-a", "attempt": 1, "outcome": "success", "confirmed": true, "listing_url": "https://a.example/l/1"}')).status::text,
  'submitted', 'the late confirmed success of the fenced attempt is applied: submitted');
select results_eq(
  format($$ select attempt, outcome::text, late, lease_token, worker_id from job_results
             where job_id = %L and directory_id = 'dir-a' $$, :'job'),
  format($$ values (1, 'success', true, %L::uuid, 'worker-1') $$, :'token1'),
  'it is recorded once, marked late, with its lease and worker');
select results_eq(
  format($$ select from_status, to_status, details ->> 'verdict', (details ->> 'fenced')::boolean
             from audit_log where job_id = %L and action = 'directory.late_report' $$, :'job'),
  $$ values ('needs_review', 'submitted', 'applied', true) $$, 'the late report is audited as applied');
select is(
  (jobs_report_attempt(:'job', :'token1',
     '{"directory_id": "dir-a", "attempt": 1, "outcome": "success", "confirmed": true, "listing_url": "https://a.example/l/1"}')).status::text,
  'submitted', 'a resent late report is acknowledged');
select is((select count(*)::int from job_results where job_id = :'job' and directory_id = 'dir-a'), 1,
  'and not recorded twice');
select throws_ok(
  format($$ select jobs_report_attempt(%L, %L,
             '{"directory_id": "dir-a", "attempt": 1, "outcome": "permanent_error", "error_code": "site_down"}') $$, :'job', :'token1'),
  'DB002', NULL, 'the same late attempt with another outcome is a contradiction (DB002)');

-- The worker's late transient error on dir-b (it did not submit: its fence was refused) ----
select is(
  (jobs_report_attempt(:'job', :'token1',
     '{"directory_id": "dir-b", "attempt": 1, "outcome": "transient_error", "error_code": "lease_lost"}')).status::text,
  'queued', 'a late transient error is recorded and changes nothing');

-- Handed to another attempt: resume, re-claim, dir-b started by worker-2 -------------------
select jobs_resume(:'job', 'staff:pat') \gset
select lease_token as token2 from jobs_next('worker-2', 300) \gset
select jobs_start_directory(:'job', :'token2', 'dir-b') \gset
select throws_ok(
  format($$ select jobs_report_attempt(%L, %L,
             '{"directory_id": "dir-b", "attempt": 1, "outcome": "success", "confirmed": true}') $$, :'job', :'token1'),
  'DB002', NULL, 'worker-1 already reported dir-b''s attempt 1 late (transient): another outcome is a contradiction');
-- dir-c: worker-1 never started it; worker-2 fences it; a late success from a lease that once
-- held the job (worker-1's) arrives for dir-c. worker-1 never fenced it, so it cannot have
-- made a listing: recorded as a fact, nothing flagged (054 shows a fenced one being flagged).
select jobs_start_directory(:'job', :'token2', 'dir-c') \gset
select jobs_fence_submit(:'job', :'token2', 'dir-c', 1) \gset
select is(
  (jobs_report_attempt(:'job', :'token1',
     '{"directory_id": "dir-c", "attempt": 1, "outcome": "success", "confirmed": false}')).status::text,
  'in_progress', 'an unfenced late success on a directory another attempt is submitting changes nothing');
select is((select last_message from job_directories where job_id = :'job' and directory_id = 'dir-c'), null,
  'the directory carries no conflict');
select is((select count(*)::int from alerts where kind = 'late_report_conflict' and cleared_at is null), 0,
  'and staff get no alert for it');
select is((select details ->> 'verdict' from audit_log where job_id = :'job' and action = 'directory.late_report'
            and directory_id = 'dir-c'), 'recorded', 'the late report is audited as recorded');
select is(
  (jobs_report_attempt(:'job', :'token2',
     '{"directory_id": "dir-c", "attempt": 1, "outcome": "success", "confirmed": true}')).status::text,
  'submitted', 'the current holder''s own report is applied');
select is((select count(*)::int from job_results where job_id = :'job' and directory_id = 'dir-c'), 2,
  'both attempts are kept');

-- Current lease: a transient error after the fence is not retried blindly ------------------
select is(
  (jobs_report_attempt(:'job', :'token2',
     '{"directory_id": "dir-b", "attempt": 1, "outcome": "transient_error", "error_code": "timeout"}')).status::text,
  'queued', 'an unfenced transient error is retried');
select jobs_start_directory(:'job', :'token2', 'dir-b') \gset
select jobs_fence_submit(:'job', :'token2', 'dir-b', 2) \gset
select is(
  (jobs_report_attempt(:'job', :'token2',
     '{"directory_id": "dir-b", "attempt": 2, "outcome": "transient_error", "error_code": "timeout", "message": "no answer"}')).status::text,
  'needs_review', 'a transient error after the fence goes to review, not back to the queue');
select matches((select last_message from job_directories where job_id = :'job' and directory_id = 'dir-b'),
  'may have gone through.*no answer', 'saying why, with the worker''s message');

-- Release, reap and cancel hold a fenced directory too --------------------------------------
select id as job_r from jobs_enqueue(dev.create_paid_order('release@example.com', 'starter')) \gset
select lease_token as token_r from jobs_next('worker-r', 300) \gset
select id as job_x from jobs_enqueue(dev.create_paid_order('reap@example.com', 'starter')) \gset
select lease_token as token_x from jobs_next('worker-x', 300) \gset
select id as job_c from jobs_enqueue(dev.create_paid_order('cancel@example.com', 'starter')) \gset
select lease_token as token_c from jobs_next('worker-c', 300) \gset
select jobs_start_directory(:'job_r', :'token_r', 'dir-a') \gset
select jobs_fence_submit(:'job_r', :'token_r', 'dir-a', 1) \gset
select jobs_start_directory(:'job_r', :'token_r', 'dir-b') \gset
select jobs_start_directory(:'job_x', :'token_x', 'dir-a') \gset
select jobs_fence_submit(:'job_x', :'token_x', 'dir-a', 1) \gset
select jobs_start_directory(:'job_c', :'token_c', 'dir-a') \gset
select jobs_fence_submit(:'job_c', :'token_c', 'dir-a', 1) \gset
select jobs_start_directory(:'job_c', :'token_c', 'dir-b') \gset

select jobs_release(:'job_r', :'token_r', 'shutdown') \gset
select results_eq(
  format($$ select directory_id, status::text from job_directories where job_id = %L order by position $$, :'job_r'),
  $$ values ('dir-a', 'needs_review'), ('dir-b', 'queued'), ('dir-c', 'queued') $$,
  'release: the fenced directory is held for review, the other re-queued');
update jobs set lease_expires_at = now() - interval '1 second' where id = :'job_x';
select jobs_reap_expired() \gset
select results_eq(
  format($$ select directory_id, status::text from job_directories where job_id = %L order by position $$, :'job_x'),
  $$ values ('dir-a', 'needs_review'), ('dir-b', 'queued'), ('dir-c', 'queued') $$,
  'reap: the fenced directory is held for review');
select is((select actor from audit_log where job_id = :'job_x' and action = 'directory.fence_unresolved'),
  'reaper', 'the reaper is named');
select jobs_start_directory(:'job_c', :'token_c', 'dir-c') \gset
select jobs_fence_submit(:'job_c', :'token_c', 'dir-c', 1) \gset
select is(
  (jobs_report_attempt(:'job_c', :'token_c',
     '{"directory_id": "dir-c", "attempt": 1, "outcome": "transient_error", "error_code": "site_unavailable"}')).status::text,
  'queued', 'a site that answered the fenced submit with a refusal (503) did not take it: retried');
select jobs_cancel(:'job_c', 'staff:cal', 'The customer asked us to stop') \gset
select results_eq(
  format($$ select directory_id, status::text from job_directories where job_id = %L order by position $$, :'job_c'),
  $$ values ('dir-a', 'needs_review'), ('dir-b', 'skipped'), ('dir-c', 'skipped') $$,
  'cancel: the fenced directory is held for review, not marked as never submitted');
select is(
  (jobs_report_attempt(:'job_c', :'token_c',
     '{"directory_id": "dir-b", "attempt": 1, "outcome": "success", "confirmed": true}')).status::text,
  'skipped', 'an unfenced late "success" after the cancel is recorded, not credited: no fence, no listing');
select is(
  (jobs_report_attempt(:'job_c', :'token_c',
     '{"directory_id": "dir-a", "attempt": 1, "outcome": "permanent_error", "error_code": "duplicate_listing"}')).status::text,
  'failed', 'the held directory takes the late answer of its fenced attempt');
select is((select count(*)::int from job_results where job_id = :'job_c' and late), 2,
  'both late reports are recorded as late');

-- A fence is refused once the lease is gone ------------------------------------------------
select throws_ok(format('select jobs_fence_submit(%L, %L, %L, 1)', :'job_r', :'token_r', 'dir-b'), 'DB001',
  NULL, 'after release the old lease cannot fence');
select throws_ok(format('select jobs_fence_submit(%L, %L, %L, 1)', :'job_c', :'token_c', 'dir-c'), 'DB001',
  NULL, 'after cancel the old lease cannot fence');

select * from finish();
rollback;
