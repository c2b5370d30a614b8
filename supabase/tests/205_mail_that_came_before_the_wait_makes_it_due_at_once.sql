-- A directory's email can arrive before the worker reports the wait (no directory was waiting
-- for it then). Parking for an email asks the inbound-mail matcher's hook
-- (private.inbound_emails_match_parked) for mail already here: found, the directory is due at
-- once and the job goes back to pending when its worker completes, instead of waiting.
begin;
set search_path = public, extensions;
select plan(5);

select directories_sync($$[
  {"id": "dir-a", "name": "A", "homepage": "http://127.0.0.1:9/a", "tier": "starter", "priority": 1, "mode": "auto", "enabled": true}
]$$::jsonb) \gset
select id as job, customer_id as customer from jobs_enqueue(dev.create_paid_order('early-mail@example.com', 'starter')) \gset
select lease_token as token from jobs_next('worker-1', 300) \gset

select is(private.inbound_emails_match_parked(:'job', 'dir-a'), null::bigint,
  'the stand-in hook matches nothing');

insert into inbound_emails (provider, provider_message_id, customer_id, recipient, sender, subject, body_text)
values ('mailgun', '<early@a.example>', :'customer', 'x@mail.example.com', 'noreply@a.example', 'Confirm', 'code 1234')
returning id as mail \gset
-- The matcher's rules, as the inbound-mail migration would install them (here: any mail of
-- the job's customer not matched yet).
create or replace function private.inbound_emails_match_parked(job_id uuid, directory_id text)
returns bigint language sql set search_path = '' as $$
  update public.inbound_emails m set job_id = $1, directory_id = $2, matched_at = now()
   where m.id = (select e.id from public.inbound_emails e join public.jobs j on j.customer_id = e.customer_id
                  where j.id = $1 and e.matched_at is null order by e.received_at limit 1)
  returning m.id
$$;

create temp table parked as select * from jobs_report_attempt(:'job', :'token',
  '{"directory_id": "dir-a", "attempt": 1, "outcome": "parked", "wait_kind": "email", "wait_seconds": 3600, "resume_phase": "verify_email"}');
select results_eq($$ select status::text, wake_mail_id from parked $$, format($$ values ('waiting', %s::bigint) $$, :mail),
  'parked for an email already here: waiting, with the mail named');
select ok(private.directory_is_due(d), 'and due at once') from job_directories d where d.job_id = :'job' and d.directory_id = 'dir-a';
select is((select status::text from jobs_complete(:'job', :'token')), 'pending',
  'the job is pending again at completion, not waiting');
select is((select details ->> 'wake_mail_id' from audit_log where job_id = :'job' and action = 'directory.attempt_reported'),
  :'mail', 'the audit row names the mail');

select * from finish();
rollback;
