-- An email that never comes: past its deadline with no mail, jobs_wake_due signs the
-- directory up again once (queued at phase signup, its session dropped, the job woken); the
-- second time it needs action, in words naming the directory and the address its mail was
-- asked for. A paused job's waits are left alone until it resumes.
begin;
set search_path = public, extensions;
select plan(17);

select directories_sync($$[
  {"id": "dir-a", "name": "Acme Pages", "homepage": "http://127.0.0.1:9/a", "tier": "starter", "priority": 1, "mode": "auto", "enabled": true},
  {"id": "dir-b", "name": "B", "homepage": "http://127.0.0.1:9/b", "tier": "starter", "priority": 2, "mode": "auto", "enabled": true}
]$$::jsonb) \gset
select id as job, customer_id as customer from jobs_enqueue(dev.create_paid_order('nomail@example.com', 'starter')) \gset
select local_part as local from customer_mailboxes where customer_id = :'customer' \gset
select lease_token as token from jobs_next('worker-1', 300) \gset
select jobs_start_directory(:'job', :'token', 'dir-a') \gset
select jobs_save_session(:'job', :'token', 'dir-a', 'k1', decode(repeat('ab', 40), 'hex')) \gset
select jobs_report_attempt(:'job', :'token',
  '{"directory_id": "dir-a", "attempt": 1, "outcome": "parked", "wait_kind": "email", "wait_seconds": 3600, "resume_phase": "verify_email"}') \gset
select jobs_report_attempt(:'job', :'token',
  '{"directory_id": "dir-b", "attempt": 1, "outcome": "parked", "wait_kind": "moderation", "wait_seconds": 86400, "resume_phase": "confirm"}') \gset
select jobs_complete(:'job', :'token') \gset

select throws_like($$ select * from jobs_wake_due('waker', 'not a domain') $$, 'mailbox_domain must be a domain name%',
  'jobs_wake_due refuses a mailbox domain that is not one, naming it');
select throws_like($$ select * from jobs_wake_due('', 'mail.example.com') $$, 'actor is required',
  'and needs an actor for the audit');

-- The first deadline passes -----------------------------------------------------------------
update job_directories set wait_until = now() - interval '1 minute' where job_id = :'job' and directory_id = 'dir-a';
update jobs set wake_at = now() - interval '1 minute' where id = :'job';
select results_eq($$ select directory_id, action from jobs_wake_due('waker', 'mail.example.com') $$,
  $$ values ('dir-a', 're_signup'), (null, 'woken') $$,
  'the first timeout signs up again, and the job (now with work) is woken');
select results_eq(format($$ select status::text, phase, wait_kind, email_timeouts from job_directories where job_id = %L and directory_id = 'dir-a' $$, :'job'),
  $$ values ('queued', 'signup', null::text, 1) $$, 'the directory is queued again at its sign-up');
select is((select count(*)::int from private.directory_sessions where job_id = :'job'), 0,
  'its session is dropped: the sign-up starts afresh');
select results_eq(format($$ select actor, from_status, to_status, details ->> 'then', details ->> 'mailbox' from audit_log where job_id = %L and action = 'directory.email_timed_out' $$, :'job'),
  format($$ values ('waker', 'waiting', 'queued', 'signup again (once)', '%s@mail.example.com') $$, :'local'),
  'the timeout is audited, saying it signs up again once and which mailbox waited');
select is((select status::text from jobs where id = :'job'), 'pending', 'the job is pending');
select is((select a #> '{directories,0,resume}' from (select jobs_assignment(id, lease_token) as a from jobs_next('worker-2', 300)) x),
  '{"phase": "signup", "session": null, "mail": null}'::jsonb,
  'the next worker is told to resume at the sign-up, with no session');

-- Signed up again, parked again, and again no mail -----------------------------------------
select lease_token as token2 from jobs where id = :'job' \gset
select jobs_report_attempt(:'job', :'token2',
  '{"directory_id": "dir-a", "attempt": 2, "outcome": "parked", "wait_kind": "email", "wait_seconds": 3600, "resume_phase": "verify_email"}') \gset
select is((select status::text from jobs_complete(:'job', :'token2')), 'waiting', 'the job waits again');
update job_directories set wait_until = now() - interval '1 minute' where job_id = :'job' and directory_id = 'dir-a';
update jobs set wake_at = now() - interval '1 minute' where id = :'job';

-- A paused job's waits are left alone.
select jobs_pause(:'job', 'staff:ops', 'checking') \gset
select is_empty($$ select * from jobs_wake_due('waker', 'mail.example.com') $$, 'a paused job''s expired wait is left for later');
select results_eq(format($$ select status::text, wake_at from jobs_resume(%L, 'staff:ops') $$, :'job'),
  format($$ values ('waiting', (select min(wait_until) from job_directories where job_id = %L and status = 'waiting')) $$, :'job'),
  'resumed with only parked directories not due, the job goes back to waiting');

select results_eq($$ select directory_id, action from jobs_wake_due('waker', 'mail.example.com') $$,
  $$ values ('dir-a', 'needs_action') $$, 'the second timeout needs action; the moderation wait keeps the job waiting');
select results_eq(format($$ select status::text, email_timeouts, wait_until from job_directories where job_id = %L and directory_id = 'dir-a' $$, :'job'),
  $$ values ('needs_action', 2, null::timestamptz) $$, 'the directory needs action');
select is((select action_required from job_directories where job_id = :'job' and directory_id = 'dir-a'),
  format('We opened your account at Acme Pages with the address %s@mail.example.com and asked Acme Pages for its confirmation email twice, but it never arrived, so your listing there is not finished. Our team is looking into it. If you would like to help: sign in at http://127.0.0.1:9/a with the login shown in your portal, ask the site to send its confirmation email again (it comes to us), then tell us you''ve done it.', :'local'),
  'the customer reads what was sent where, and what they can do');
select results_eq(format($$ select status::text, wake_at from jobs where id = %L $$, :'job'),
  format($$ values ('waiting', (select wait_until from job_directories where job_id = %L and directory_id = 'dir-b')) $$, :'job'),
  'the job still waits, now until the moderation wait''s time');
select is((select count(*)::int from notifications where job_id = :'job' and kind = 'needs_action'), 1,
  'the customer is told by email (needs_action notification)');

-- The last wait ends with nothing left to do: the job is woken so a worker completes it.
update job_directories set status = 'skipped' where job_id = :'job' and directory_id = 'dir-b';
update jobs set wake_at = now() - interval '1 second' where id = :'job';
select results_eq($$ select directory_id, action from jobs_wake_due('waker', 'mail.example.com') $$,
  $$ values (null::text, 'woken') $$, 'a waiting job with nothing left to wait for is woken (a worker completes it)');

select * from finish();
rollback;
