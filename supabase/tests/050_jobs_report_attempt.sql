-- jobs_report_attempt: one job_results row per attempt and the directory's next state from
-- the outcome. Success counts only when confirmed; transient errors retry up to 3 attempts;
-- permanent ones fail at once; a resend is acknowledged, not applied twice; a submitted
-- directory never takes another attempt; a stale lease is refused; the report is one jsonb
-- record whose keys are job_results' columns, and a bad one is refused naming the field.
begin;
set search_path = public, extensions;
select plan(53);

select directories_sync($$[
  {"id": "dir-a", "name": "A", "homepage": "http://127.0.0.1:9/a", "tier": "starter", "priority": 1, "mode": "auto", "enabled": true},
  {"id": "dir-b", "name": "B", "homepage": "http://127.0.0.1:9/b", "tier": "starter", "priority": 2, "mode": "auto", "enabled": true},
  {"id": "dir-c", "name": "C", "homepage": "http://127.0.0.1:9/c", "tier": "starter", "priority": 3, "mode": "auto", "enabled": true},
  {"id": "dir-d", "name": "D", "homepage": "http://127.0.0.1:9/d", "tier": "starter", "priority": 4, "mode": "auto", "enabled": true},
  {"id": "dir-e", "name": "E", "homepage": "http://127.0.0.1:9/e", "tier": "starter", "priority": 5, "mode": "auto", "enabled": true},
  {"id": "dir-f", "name": "F", "homepage": "http://127.0.0.1:9/f", "tier": "starter", "priority": 6, "mode": "auto", "enabled": true},
  {"id": "dir-s", "name": "S", "homepage": "http://127.0.0.1:9/s", "tier": "starter", "priority": 7, "mode": "auto", "enabled": true}
]$$::jsonb) \gset

select id as job from jobs_enqueue(dev.create_paid_order('report@example.com', 'starter')) \gset
select lease_token as token from jobs_next('worker-1', 300) \gset

-- success + confirmed -> submitted ------------------------------------------------------
select is((jobs_start_directory(:'job', :'token', 'dir-a')).status::text, 'in_progress',
  'jobs_start_directory moves a queued directory to in_progress');
select is(
  (jobs_report_attempt(job_id => :'job', lease_token => :'token',
     report => '{"directory_id": "dir-a", "attempt": 1, "outcome": "success", "confirmed": true, "listing_url": "https://a.example/listing/1", "duration_ms": 1200}')).status::text,
  'submitted', 'a confirmed success returns the directory as submitted');
select results_eq(
  format($$ select status::text, attempts, last_outcome::text, listing_url, submitted_at is not null
             from job_directories where job_id = %L and directory_id = 'dir-a' $$, :'job'),
  $$ values ('submitted', 1, 'success', 'https://a.example/listing/1', true) $$,
  'the directory is submitted with one attempt, its listing URL and a submitted_at');
select results_eq(
  format($$ select attempt, outcome::text, confirmed, listing_url, worker_id, duration_ms
             from job_results where job_id = %L and directory_id = 'dir-a' $$, :'job'),
  $$ values (1, 'success', true, 'https://a.example/listing/1', 'worker-1', 1200) $$,
  'exactly one job_results row records the attempt and the worker');

-- success without confirmation -> needs_review ------------------------------------------
select is(
  (jobs_report_attempt(job_id => :'job', lease_token => :'token',
     report => '{"directory_id": "dir-b", "attempt": 1, "outcome": "success", "confirmed": false}')).status::text,
  'needs_review', 'an unconfirmed success is filed as needs_review (success is never assumed)');
select results_eq(
  format($$ select status::text, submitted_at from job_directories where job_id = %L and directory_id = 'dir-b' $$, :'job'),
  $$ values ('needs_review', null::timestamptz) $$,
  'needs_review has no submitted_at');

-- needs_action must say what -------------------------------------------------------------
select throws_ok(
  format($$ select jobs_report_attempt(job_id => %L, lease_token => %L,
             report => '{"directory_id": "dir-c", "attempt": 1, "outcome": "needs_action"}') $$, :'job', :'token'),
  'DB005', 'action_required is required when outcome is needs_action',
  'needs_action without action_required is refused with DB005');
select is(
  (jobs_report_attempt(job_id => :'job', lease_token => :'token',
     report => '{"directory_id": "dir-c", "attempt": 1, "outcome": "needs_action", "action_required": "verify the email sent to the owner"}')).status::text,
  'needs_action', 'needs_action with action_required is accepted');
select is(
  (select action_required from job_directories where job_id = :'job' and directory_id = 'dir-c'),
  'verify the email sent to the owner', 'the action required is stored on the directory');

-- transient errors retry until the third attempt ----------------------------------------
select throws_ok(
  format($$ select jobs_report_attempt(job_id => %L, lease_token => %L,
             report => '{"directory_id": "dir-d", "attempt": 1, "outcome": "transient_error"}') $$, :'job', :'token'),
  'DB005', 'error_code is required when outcome is transient_error',
  'a transient error without error_code is refused with DB005');
select is(
  (jobs_report_attempt(job_id => :'job', lease_token => :'token',
     report => '{"directory_id": "dir-d", "attempt": 1, "outcome": "transient_error", "error_code": "timeout"}')).status::text,
  'queued', 'transient error on attempt 1: back to queued');
select is(
  (jobs_report_attempt(job_id => :'job', lease_token => :'token',
     report => '{"directory_id": "dir-d", "attempt": 2, "outcome": "transient_error", "error_code": "captcha_unsolved"}')).status::text,
  'queued', 'transient error on attempt 2: back to queued');
select is(
  (jobs_report_attempt(job_id => :'job', lease_token => :'token',
     report => '{"directory_id": "dir-d", "attempt": 3, "outcome": "transient_error", "error_code": "proxy_error"}')).status::text,
  'failed', 'transient error on attempt 3: failed');
select results_eq(
  format($$ select status::text, attempts, last_error_code from job_directories
             where job_id = %L and directory_id = 'dir-d' $$, :'job'),
  $$ values ('failed', 3, 'proxy_error') $$, 'dir-d failed after three attempts, last error kept');
select results_eq(
  format($$ select attempt, error_code from job_results where job_id = %L and directory_id = 'dir-d' order by attempt $$, :'job'),
  $$ values (1, 'timeout'), (2, 'captcha_unsolved'), (3, 'proxy_error') $$,
  'each of the three attempts has its own job_results row');
select throws_ok(
  format($$ select jobs_report_attempt(job_id => %L, lease_token => %L,
             report => '{"directory_id": "dir-d", "attempt": 4, "outcome": "transient_error", "error_code": "timeout"}') $$, :'job', :'token'),
  'DB002', NULL, 'a failed directory takes no fourth attempt (DB002)');

-- permanent errors fail at once ----------------------------------------------------------
select throws_ok(
  format($$ select jobs_report_attempt(job_id => %L, lease_token => %L,
             report => '{"directory_id": "dir-e", "attempt": 1, "outcome": "permanent_error", "error_code": "  "}') $$, :'job', :'token'),
  'DB005', 'error_code is required when outcome is permanent_error',
  'a permanent error with a blank error_code is refused with DB005');
select is(
  (jobs_report_attempt(job_id => :'job', lease_token => :'token',
     report => '{"directory_id": "dir-e", "attempt": 1, "outcome": "permanent_error", "error_code": "site_down"}')).status::text,
  'failed', 'a permanent error fails the directory on the first attempt');

select is(
  (jobs_report_attempt(job_id => :'job', lease_token => :'token',
     report => '{"directory_id": "dir-s", "attempt": 1, "outcome": "skipped", "message": "directory does not list bakeries"}')).status::text,
  'skipped', 'a skipped outcome marks the directory skipped');

select throws_ok(
  format($$ select jobs_report_attempt(job_id => %L, lease_token => %L,
             report => '{"directory_id": "dir-f", "attempt": 1, "outcome": "needs_action", "confirmed": true, "action_required": "x"}') $$, :'job', :'token'),
  'DB005', 'confirmed can only be true when outcome is success',
  'confirmed = true on a non-success is refused with DB005');

-- Idempotent resend ----------------------------------------------------------------------
select count(*)::int as results_before from job_results where job_id = :'job' \gset
select is(
  (jobs_report_attempt(job_id => :'job', lease_token => :'token',
     report => '{"directory_id": "dir-a", "attempt": 1, "outcome": "success", "confirmed": true, "listing_url": "https://a.example/listing/1"}')).status::text,
  'submitted', 'resending the same report returns the directory as it is');
select is((select count(*)::int from job_results where job_id = :'job'), :results_before,
  'the resend wrote no second job_results row');
select is((select count(*)::int from audit_log where action = 'directory.attempt_reported'
             and job_id = :'job' and directory_id = 'dir-a'), 1,
  'and audited nothing twice');

select throws_ok(
  format($$ select jobs_report_attempt(job_id => %L, lease_token => %L,
             report => '{"directory_id": "dir-a", "attempt": 1, "outcome": "transient_error", "error_code": "timeout"}') $$, :'job', :'token'),
  'DB002', NULL, 'a different outcome for an already reported attempt is refused with DB002');
select throws_like(
  format($$ select jobs_report_attempt(job_id => %L, lease_token => %L,
             report => '{"directory_id": "dir-a", "attempt": 1, "outcome": "success", "confirmed": false}') $$, :'job', :'token'),
  '%attempt 1 of directory dir-a in job % was already reported as success',
  'a changed confirmation for the same attempt is refused too, naming the first outcome');

-- A submitted directory is never submitted again -----------------------------------------
select throws_ok(
  format($$ select jobs_report_attempt(job_id => %L, lease_token => %L,
             report => '{"directory_id": "dir-a", "attempt": 2, "outcome": "success", "confirmed": true}') $$, :'job', :'token'),
  'DB002', NULL, 'a new attempt on a submitted directory is refused with DB002');
select throws_like(
  format($$ select jobs_report_attempt(job_id => %L, lease_token => %L,
             report => '{"directory_id": "dir-a", "attempt": 2, "outcome": "success", "confirmed": true}') $$, :'job', :'token'),
  '%is submitted and takes no more attempts', 'the message says the directory is submitted');
select throws_ok(format($$ select jobs_start_directory(%L, %L, 'dir-a') $$, :'job', :'token'),
  'DB002', NULL, 'a submitted directory cannot be started again');
select throws_ok(
  format($$ select jobs_report_attempt(job_id => %L, lease_token => %L,
             report => '{"directory_id": "dir-b", "attempt": 2, "outcome": "success", "confirmed": true}') $$, :'job', :'token'),
  'DB002', NULL, 'a needs_review directory takes no more attempts either');

-- Wrong attempt number, unknown directory -----------------------------------------------
select throws_ok(
  format($$ select jobs_report_attempt(job_id => %L, lease_token => %L,
             report => '{"directory_id": "dir-f", "attempt": 2, "outcome": "success", "confirmed": true}') $$, :'job', :'token'),
  'DB005', 'attempt must be 1 for directory dir-f (got 2)',
  'skipping an attempt number is refused with DB005, naming the expected one');
select throws_ok(
  format($$ select jobs_report_attempt(job_id => %L, lease_token => %L,
             report => '{"directory_id": "dir-f", "attempt": 0, "outcome": "success", "confirmed": true}') $$, :'job', :'token'),
  'DB005', 'attempt must be 1 for directory dir-f (got 0)', 'attempt 0 is refused with DB005');
select throws_ok(
  format($$ select jobs_report_attempt(job_id => %L, lease_token => %L,
             report => '{"directory_id": "dir-zz", "attempt": 1, "outcome": "success", "confirmed": true}') $$, :'job', :'token'),
  'DB003', NULL, 'a directory that is not part of the job is refused with DB003');

-- The report is one record named by job_results' columns; each refusal names the field ---
select throws_ok(
  format($$ select jobs_report_attempt(job_id => %L, lease_token => %L,
             report => '{"directory_id": "dir-f", "attempt": 1, "outcome": "success", "confirmd": true}') $$, :'job', :'token'),
  'DB005', 'confirmd is not a field of a report', 'a misspelt field is refused by name, not dropped');
select throws_ok(
  format($$ select jobs_report_attempt(job_id => %L, lease_token => %L,
             report => '{"directory_id": "dir-f", "attempt": 1, "outcome": "success", "worker_id": "worker-9"}') $$, :'job', :'token'),
  'DB005', 'worker_id is not a field of a report', 'a column the server sets cannot be reported');
select throws_ok(
  format($$ select jobs_report_attempt(job_id => %L, lease_token => %L,
             report => '{"directory_id": "dir-f", "attempt": "one", "outcome": "success"}') $$, :'job', :'token'),
  'DB005', 'attempt is invalid: invalid input syntax for type integer: "one"',
  'a value of the wrong type is refused naming the field');
select throws_ok(
  format($$ select jobs_report_attempt(job_id => %L, lease_token => %L,
             report => '{"directory_id": "dir-f", "attempt": 1, "outcome": "won"}') $$, :'job', :'token'),
  'DB005', 'outcome is invalid: invalid input value for enum public.attempt_outcome: "won"',
  'an unknown outcome is refused naming the field');
select throws_ok(
  format($$ select jobs_report_attempt(job_id => %L, lease_token => %L,
             report => '{"attempt": 1, "outcome": "success"}') $$, :'job', :'token'),
  'DB005', 'directory_id is required', 'a report without directory_id is refused');
select throws_ok(
  format($$ select jobs_report_attempt(job_id => %L, lease_token => %L,
             report => '{"directory_id": "dir-f", "outcome": "success"}') $$, :'job', :'token'),
  'DB005', 'attempt is required', 'a report without attempt is refused');
select throws_ok(
  format($$ select jobs_report_attempt(job_id => %L, lease_token => %L,
             report => '{"directory_id": "dir-f", "attempt": 1, "outcome": null}') $$, :'job', :'token'),
  'DB005', 'outcome is required', 'a report with a null outcome is refused');
select throws_ok(
  format($$ select jobs_report_attempt(job_id => %L, lease_token => %L, report => '[]') $$, :'job', :'token'),
  'DB005', 'report must be a JSON object', 'a report that is not a JSON object is refused');

-- Stale token ---------------------------------------------------------------------------
select throws_ok(
  format($$ select jobs_report_attempt(job_id => %L, lease_token => gen_random_uuid(),
             report => '{"directory_id": "dir-f", "attempt": 1, "outcome": "success", "confirmed": true}') $$, :'job'),
  'DB001', NULL, 'a report with a stale token is refused with DB001');
select results_eq(
  format($$ select status::text, attempts from job_directories where job_id = %L and directory_id = 'dir-f' $$, :'job'),
  $$ values ('queued', 0) $$, 'the refused reports left dir-f untouched');
select is((select count(*)::int from job_results where job_id = :'job' and directory_id = 'dir-f'), 0,
  'and wrote no job_results row for it');

-- After a crash: the job is released and re-claimed; submitted stays submitted -----------
select jobs_release(:'job', :'token') \gset
select lease_token as token2 from jobs_next('worker-2', 300) \gset
select throws_ok(
  format($$ select jobs_report_attempt(job_id => %L, lease_token => %L,
             report => '{"directory_id": "dir-f", "attempt": 1, "outcome": "success", "confirmed": true}') $$, :'job', gen_random_uuid()),
  'DB001', NULL, 'a token the job never held is refused after re-claim (DB001); the old holder''s late reports: 051');
select is(
  (jobs_report_attempt(job_id => :'job', lease_token => :'token',
     report => '{"directory_id": "dir-a", "attempt": 1, "outcome": "success", "confirmed": true}')).status::text,
  'submitted', 'a resend of an already recorded attempt is still acknowledged with the old token');
select throws_ok(
  format($$ select jobs_report_attempt(job_id => %L, lease_token => %L,
             report => '{"directory_id": "dir-a", "attempt": 2, "outcome": "success", "confirmed": true}') $$, :'job', :'token2'),
  'DB002', NULL, 'the new holder cannot submit dir-a again either');
select is(
  (jobs_report_attempt(job_id => :'job', lease_token => :'token2',
     report => '{"directory_id": "dir-f", "attempt": 1, "outcome": "success", "confirmed": true}')).status::text,
  'submitted', 'the new holder reports dir-f');
select is((select worker_id from job_results where job_id = :'job' and directory_id = 'dir-f'), 'worker-2',
  'the attempt is attributed to the new holder');

select results_eq(
  format($$ select directory_id, status::text from job_directories where job_id = %L order by position $$, :'job'),
  $$ values ('dir-a', 'submitted'), ('dir-b', 'needs_review'), ('dir-c', 'needs_action'),
            ('dir-d', 'failed'), ('dir-e', 'failed'), ('dir-f', 'submitted'), ('dir-s', 'skipped') $$,
  'final directory states');
select is((select count(*)::int from job_results where job_id = :'job'), 9,
  'nine attempts recorded in total (1+1+1+3+1+1+1)');
select is((select count(*)::int from audit_log where action = 'directory.attempt_reported' and job_id = :'job'), 9,
  'one audit row per recorded attempt');
select results_eq(
  format($$ select from_status, to_status, details from audit_log
             where action = 'directory.attempt_reported' and job_id = %L and directory_id = 'dir-d' order by id $$, :'job'),
  $$ values ('queued', 'queued', '{"attempt": 1, "outcome": "transient_error", "error_code": "timeout"}'::jsonb),
            ('queued', 'queued', '{"attempt": 2, "outcome": "transient_error", "error_code": "captcha_unsolved"}'::jsonb),
            ('queued', 'failed', '{"attempt": 3, "outcome": "transient_error", "error_code": "proxy_error"}'::jsonb) $$,
  'the audit trail records each attempt''s outcome and transition');
select is((select count(*)::int from jobs where id = :'job' and status = 'in_progress'), 1,
  'the job is still in progress (reports do not complete it)');

select * from finish();
rollback;
