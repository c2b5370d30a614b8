-- Parking: a `parked` report makes the directory `waiting` (its phase, what it waits for and
-- until when) without spending an attempt of the customer's; jobs_complete then gives the
-- lease and the tier slot back and leaves the job `waiting` with wake_at; jobs_wake_due and
-- a directory's mail bring it back, and the assignment hands out only due directories, with
-- what they need to resume. `already_listed` delivers with its URL and submits nothing.
begin;
set search_path = public, extensions;
select plan(40);

select directories_sync($$[
  {"id": "dir-a", "name": "A", "homepage": "http://127.0.0.1:9/a", "tier": "starter", "priority": 1, "mode": "auto", "enabled": true},
  {"id": "dir-b", "name": "B", "homepage": "http://127.0.0.1:9/b", "tier": "starter", "priority": 2, "mode": "auto", "enabled": true},
  {"id": "dir-c", "name": "C", "homepage": "http://127.0.0.1:9/c", "tier": "starter", "priority": 3, "mode": "auto", "enabled": true}
]$$::jsonb) \gset

select id as job, customer_id as customer from jobs_enqueue(dev.create_paid_order('park@example.com', 'starter')) \gset
select lease_token as token from jobs_next('worker-1', 300) \gset

-- The report's wait fields, refused by name --------------------------------------------------
select throws_like(format($$select jobs_report_attempt(%L, %L, '{"directory_id": "dir-a", "attempt": 1, "outcome": "parked", "wait_seconds": 3600, "resume_phase": "verify_email"}')$$, :'job', :'token'),
  'wait_kind is required when outcome is parked', 'parked without wait_kind is refused, naming it');
select throws_like(format($$select jobs_report_attempt(%L, %L, '{"directory_id": "dir-a", "attempt": 1, "outcome": "parked", "wait_kind": "email", "resume_phase": "verify_email"}')$$, :'job', :'token'),
  'wait_seconds is required when outcome is parked', 'parked without wait_seconds is refused, naming it');
select throws_like(format($$select jobs_report_attempt(%L, %L, '{"directory_id": "dir-a", "attempt": 1, "outcome": "parked", "wait_kind": "email", "wait_seconds": 3600}')$$, :'job', :'token'),
  'resume_phase is required when outcome is parked', 'parked without resume_phase is refused, naming it');
select throws_like(format($$select jobs_report_attempt(%L, %L, '{"directory_id": "dir-a", "attempt": 1, "outcome": "parked", "wait_kind": "fax", "wait_seconds": 3600, "resume_phase": "verify_email"}')$$, :'job', :'token'),
  '%wait_kind%', 'an unknown wait kind is refused, naming the field');
select throws_like(format($$select jobs_report_attempt(%L, %L, '{"directory_id": "dir-a", "attempt": 1, "outcome": "skipped", "wait_kind": "email"}')$$, :'job', :'token'),
  'wait_kind is only for outcome parked (got skipped)', 'a wait field on another outcome is refused by name');
select throws_like(format($$select jobs_report_attempt(%L, %L, '{"directory_id": "dir-b", "attempt": 1, "outcome": "already_listed"}')$$, :'job', :'token'),
  'listing_url is required when outcome is already_listed', 'already_listed needs the listing''s URL');
select is((select count(*)::int from job_results where job_id = :'job'), 0, 'the refused reports wrote nothing');

-- Parked: dir-a waits for its email, dir-b for moderation; dir-c is already listed ----------
select jobs_start_directory(:'job', :'token', 'dir-a') \gset
create temp table parked as select * from jobs_report_attempt(:'job', :'token',
  '{"directory_id": "dir-a", "attempt": 1, "outcome": "parked", "wait_kind": "email", "wait_seconds": 172800, "resume_phase": "verify_email", "message": "signed up; waiting for the confirmation email"}');
select results_eq($$ select status::text, phase, wait_kind, attempts, max_attempts from parked $$,
  $$ values ('waiting', 'verify_email', 'email', 1, 4) $$,
  'parked: waiting at its resume phase, for its email; the attempt is counted and the budget grows with it');
select ok((select wait_until between now() + interval '47 hours 59 minutes' and now() + interval '48 hours' from parked),
  'wait_until is now + wait_seconds');
select results_eq(format($$ select outcome::text, wait_kind, wait_seconds, resume_phase from job_results where job_id = %L and directory_id = 'dir-a' $$, :'job'),
  $$ values ('parked', 'email', 172800, 'verify_email') $$, 'the attempt row keeps the wait fields');
select results_eq(format($$ select from_status, to_status, details ->> 'wait_kind', details ->> 'phase' from audit_log where job_id = %L and directory_id = 'dir-a' and action = 'directory.attempt_reported' $$, :'job'),
  $$ values ('in_progress', 'waiting', 'email', 'verify_email') $$, 'parking is audited with what it waits for');
select results_eq(format($$ select status::text from jobs_report_attempt(%L, %L, '{"directory_id": "dir-a", "attempt": 1, "outcome": "parked", "wait_kind": "email", "wait_seconds": 172800, "resume_phase": "verify_email", "message": "signed up; waiting for the confirmation email"}') $$, :'job', :'token'),
  $$ values ('waiting') $$, 'a resent parked report is acknowledged');
select throws_ok(format($$select jobs_report_attempt(%L, %L, '{"directory_id": "dir-a", "attempt": 2, "outcome": "success", "confirmed": true}')$$, :'job', :'token'),
  'DB002', NULL, 'a waiting directory that is not due takes no report');

select jobs_report_attempt(:'job', :'token',
  '{"directory_id": "dir-b", "attempt": 1, "outcome": "parked", "wait_kind": "moderation", "wait_seconds": 86400, "resume_phase": "confirm"}') \gset
create temp table listed as select * from jobs_report_attempt(:'job', :'token',
  '{"directory_id": "dir-c", "attempt": 1, "outcome": "already_listed", "listing_url": "https://c.example/listing/9"}');
select results_eq($$ select status::text, listing_url, submitted_at, attempts from listed $$,
  $$ values ('already_listed', 'https://c.example/listing/9', null::timestamptz, 1) $$,
  'already_listed: delivered with its URL, nothing submitted');
select throws_ok($$ update job_directories set listing_url = null where directory_id = 'dir-c' $$, '23514', NULL,
  'an already_listed directory always has its URL (check constraint)');

-- Complete: the job waits, with no lease -----------------------------------------------------
select is((select running from tiers where name = 'starter'), 1, 'the claim holds a starter slot');
create temp table waited as select * from jobs_complete(:'job', :'token');
select results_eq($$ select status::text, lease_token, worker_id, completed_at from waited $$,
  $$ values ('waiting', null::uuid, null::text, null::timestamptz) $$,
  'jobs_complete with parked directories left: waiting, no lease, not complete');
select is((select wake_at from waited), (select min(wait_until) from job_directories where job_id = :'job' and status = 'waiting'),
  'wake_at is the earliest wait_until');
select is((select running from tiers where name = 'starter'), 0, 'the tier slot went back');
select is((select count(*)::int from job_reports where job_id = :'job'), 0, 'no report is written for a waiting job');
select results_eq(format($$ select actor, from_status, to_status from audit_log where job_id = %L and action = 'job.parked' $$, :'job'),
  $$ values ('worker:worker-1', 'in_progress', 'waiting') $$, 'the parking of the job is audited');
select is_empty('select * from jobs_next(''worker-2'', 300)', 'a waiting job is not handed out');
select is_empty('select * from jobs_wake_due(''waker'', ''mail.example.com'')', 'nothing is due yet: jobs_wake_due changes nothing');

-- Time passes for the moderation wait: jobs_wake_due wakes the job -------------------------
update job_directories set wait_until = now() - interval '1 second' where job_id = :'job' and directory_id = 'dir-b';
update jobs set wake_at = now() - interval '1 second' where id = :'job';
select results_eq($$ select job_id, directory_id, action from jobs_wake_due('waker', 'mail.example.com') $$,
  format($$ values (%L::uuid, null::text, 'woken') $$, :'job'), 'jobs_wake_due wakes the job whose moderation wait is over');
select results_eq(format($$ select status::text, wake_at from jobs where id = %L $$, :'job'),
  $$ values ('pending', null::timestamptz) $$, 'the job is pending again, without wake_at');
select results_eq(format($$ select actor, from_status, to_status from audit_log where job_id = %L and action = 'job.woken' $$, :'job'),
  $$ values ('waker', 'waiting', 'pending') $$, 'the wake-up is audited');

-- The assignment: only due directories, with what they need to resume -----------------------
select lease_token as token2 from jobs_next('worker-2', 300) \gset
create temp table handed as select jobs_assignment(:'job', :'token2') as a;
select is((select jsonb_path_query_array(a, '$.directories[*].directory_id') from handed), '["dir-b"]'::jsonb,
  'the assignment lists the due moderation wait, not the email wait still waiting');
select is((select a #> '{directories,0,resume}' from handed), '{"phase": "confirm", "session": null, "mail": null}'::jsonb,
  'it resumes at its phase (no session was saved, no mail woke it)');
select is((select a ->> 'mailbox_local_part' from handed), (select local_part from customer_mailboxes where customer_id = :'customer'),
  'the assignment names the customer''s mailbox');
select throws_ok(format('select jobs_assignment(%L, %L)', :'job', :'token'), 'DB001', NULL,
  'the assignment is read under the current lease only');
select throws_like(format('select jobs_start_directory(%L, %L, ''dir-a'')', :'job', :'token2'),
  '%waiting for its email until%', 'a parked directory that is not due cannot be started');
create temp table resumed as select * from jobs_start_directory(:'job', :'token2', 'dir-b');
select results_eq($$ select status::text, phase, wait_kind, wait_until from resumed $$,
  $$ values ('in_progress', 'confirm', null::text, null::timestamptz) $$,
  'a due parked directory resumes: in progress, its phase kept, its wait over');
select results_eq(format($$ select from_status, to_status, details ->> 'phase' from audit_log where job_id = %L and action = 'directory.resumed' $$, :'job'),
  $$ values ('waiting', 'in_progress', 'confirm') $$, 'the resumption is audited');
select results_eq(format($$ select status::text, listing_url from jobs_report_attempt(%L, %L, '{"directory_id": "dir-b", "attempt": 2, "outcome": "success", "confirmed": true, "listing_url": "https://b.example/l/1"}') $$, :'job', :'token2'),
  $$ values ('submitted', 'https://b.example/l/1') $$, 'the resumed attempt (the next number) reports as usual');

-- Mail wakes the email wait: due at once, pending again at completion ------------------------
insert into inbound_emails (provider, provider_message_id, customer_id, recipient, sender, subject, body_text, job_id, directory_id, matched_at)
values ('mailgun', '<m1@a.example>', :'customer', 'x@mail.example.com', 'noreply@a.example', 'Confirm your account', 'Click http://127.0.0.1:9/a/verify?t=1', :'job', 'dir-a', now())
returning id as mail \gset
update job_directories set wake_mail_id = :mail where job_id = :'job' and directory_id = 'dir-a';
select results_eq(format($$ select status::text, wake_at from jobs_complete(%L, %L) $$, :'job', :'token2'),
  $$ values ('pending', null::timestamptz) $$, 'jobs_complete with a due parked directory: pending at once, not waiting');
select lease_token as token3 from jobs_next('worker-3', 300) \gset
create temp table handed3 as select jobs_assignment(:'job', :'token3') as a;
select is((select a #> '{directories,0,directory_id}' from handed3), '"dir-a"'::jsonb, 'the woken directory is handed out');
select is((select (a #> '{directories,0,resume,mail}') - 'received_at'::text from handed3),
  jsonb_build_object('id', :mail, 'sender', 'noreply@a.example', 'recipient', 'x@mail.example.com',
    'subject', 'Confirm your account', 'text', 'Click http://127.0.0.1:9/a/verify?t=1', 'html', ''),
  'with the mail that woke it');
select is((select a #>> '{directories,0,resume,phase}' from handed3), 'verify_email', 'at the phase it parked for');
select jobs_start_directory(:'job', :'token3', 'dir-a') \gset
select results_eq(format($$ select status::text, phase, wake_mail_id from job_directories where job_id = %L and directory_id = 'dir-a' $$, :'job'),
  format($$ values ('in_progress', 'verify_email', %s::bigint) $$, :mail), 'resumed with the mail kept for the worker');
select jobs_report_attempt(:'job', :'token3',
  '{"directory_id": "dir-a", "attempt": 2, "outcome": "success", "confirmed": true, "listing_url": "https://a.example/l/2"}') \gset
select results_eq(format($$ select status::text, completed_at is not null from jobs_complete(%L, %L) $$, :'job', :'token3'),
  $$ values ('complete', true) $$, 'nothing left waiting: the job completes');

select * from finish();
rollback;
