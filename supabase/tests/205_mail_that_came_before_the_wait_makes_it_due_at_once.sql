-- A directory's email can arrive before the worker reports the wait (no directory was waiting
-- for it then). Parking for an email asks private.inbound_emails_match_parked for the
-- customer's unmatched mail that fits the directory and arrived since the attempt started it:
-- found, the mail is matched, the directory is due at once and the job goes back to pending
-- when its worker completes, instead of waiting. Older mail and other sites' mail are left.
begin;
set search_path = public, extensions;
select plan(8);

select directories_sync($$[
  {"id": "dir-a", "name": "A", "homepage": "https://a.example/", "tier": "starter", "priority": 1, "mode": "auto", "enabled": true}
]$$::jsonb) \gset
select id as job, customer_id as customer from jobs_enqueue(dev.create_paid_order('early-mail@example.com', 'starter')) \gset
select lease_token as token from jobs_next('worker-1', 300) \gset
select jobs_start_directory(:'job', :'token', 'dir-a') \gset

select is(private.inbound_emails_match_parked(:'job', 'dir-a'), null::bigint,
  'no mail yet: nothing matched');

-- All with an authenticated sender (unauthenticated mail is never matched: 215).
insert into inbound_emails (provider, provider_message_id, customer_id, recipient, sender, subject, body_text, received_at, sender_authenticated)
values ('mailgun', '<old@a.example>', :'customer', 'x', 'noreply@a.example', 'Confirm', 'code 1111', now() - interval '1 hour', true),
       ('mailgun', '<other@b.example>', :'customer', 'x', 'noreply@b.example', 'Confirm', 'code 2222', now(), true);
insert into inbound_emails (provider, provider_message_id, customer_id, recipient, sender, subject, body_text, sender_authenticated)
values ('mailgun', '<early@a.example>', :'customer', 'x', 'noreply@a.example', 'Confirm', 'code 1234', true)
returning id as mail \gset

create temp table parked as select * from jobs_report_attempt(:'job', :'token',
  '{"directory_id": "dir-a", "attempt": 1, "outcome": "parked", "wait_kind": "email", "wait_seconds": 3600, "resume_phase": "verify_email"}');
select results_eq($$ select status::text, wake_mail_id from parked $$, format($$ values ('waiting', %s::bigint) $$, :mail),
  'parked for an email already here: waiting, with the mail named');
select ok(private.directory_is_due(d), 'and due at once') from job_directories d where d.job_id = :'job' and d.directory_id = 'dir-a';
select results_eq(
  $$ select provider_message_id, job_id is not null from inbound_emails order by provider_message_id $$,
  $$ values ('<early@a.example>', true), ('<old@a.example>', false), ('<other@b.example>', false) $$,
  'only the mail that fits the directory and came since its start is matched to it');
select is((select count(*)::int from audit_log where job_id = :'job' and action = 'directory.mail_arrived'
             and (details ->> 'before_the_wait')::boolean), 1, 'the match is audited as mail that came before the wait');
select is((select status::text from jobs_complete(:'job', :'token')), 'pending',
  'the job is pending again at completion, not waiting');
select is((select details ->> 'wake_mail_id' from audit_log where job_id = :'job' and action = 'directory.attempt_reported'),
  :'mail', 'the audit row names the mail');
select is(private.inbound_emails_match_parked(:'job', 'dir-a'), null::bigint,
  'a matched mail is not matched twice');

select * from finish();
rollback;
