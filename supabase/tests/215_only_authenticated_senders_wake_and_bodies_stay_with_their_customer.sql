-- The attacks of the campaign-mailbox security review:
-- 1. anyone who knows a customer's mailbox address sends `From: noreply@<directory>` with a
--    wrong link before the real mail: unauthenticated mail is stored but matches nothing,
--    neither on arrival (inbound_emails_receive) nor when a directory parks later
--    (private.inbound_emails_match_parked); the real, authenticated mail still wakes it.
-- 2. staff on the portal (dbolt_staff) read every mail's body, verification links included,
--    with no audit row: no API role reads body_text/body_html from the table any more.
-- 3. the customer's page loaded whole bodies: inbound_emails_list_own cuts them.
begin;
set search_path = public, extensions;
select plan(17);

select directories_sync($$[
  {"id": "dir-mail", "name": "Listings One", "homepage": "https://www.listings-one.example/", "tier": "starter",
   "priority": 1, "mode": "recipe", "enabled": true,
   "recipe": {"phases": {"verify_email": {"from": "@listings-one.example"}},
              "steps": [{"goto": "https://www.listings-one.example/add"}]}}
]$$::jsonb) \gset
select id as job, customer_id as customer from jobs_enqueue(dev.create_paid_order('alice@example.com', 'starter')) \gset
select user_id as user_a from customers where id = :'customer' \gset
select local_part as box from customer_mailboxes where customer_id = :'customer' \gset
select id as job_b, customer_id as customer_b from jobs_enqueue(dev.create_paid_order('bob@example.com', 'starter')) \gset
select user_id as user_b from customers where id = :'customer_b' \gset

update jobs set status = 'waiting', wake_at = now() + interval '2 days' where id = :'job';
update job_directories set status = 'waiting', phase = 'verify_email', wait_kind = 'email',
       wait_until = now() + interval '2 days' where job_id = :'job';

-- 1. The forged mail comes first -------------------------------------------------------------
select inbound_emails_receive('mailgun', '<forged@evil.example>', :'box',
  'noreply@listings-one.example', 'Confirm', 'open https://evil.example/phish', '', 'tok-f') as forged \gset
select is(:'forged'::jsonb - 'id', '{"duplicate": false, "matched": false, "job_id": null, "directory_id": null, "woken": false}'::jsonb,
  'a mail whose sender was not authenticated is stored but matches nothing, whatever its From says');
select results_eq(format('select sender_authenticated, job_id from inbound_emails where id = %s', :'forged'::jsonb ->> 'id'),
  $$ values (false, null::uuid) $$, 'it is kept, marked unauthenticated');
select results_eq(format($$ select status::text, wake_mail_id from job_directories where job_id = %L $$, :'job'),
  $$ values ('waiting', null::bigint) $$, 'the directory still waits, its wait not used up');
select results_eq(format('select status::text from jobs where id = %L', :'job'), $$ values ('waiting') $$,
  'and its job was not woken');

select inbound_emails_receive('mailgun', '<real@listings-one.example>', :'box',
  'noreply@listings-one.example', 'Confirm', 'open https://www.listings-one.example/v?t=1', '', 'tok-r',
  true) as real \gset
select is(:'real'::jsonb - 'id', format('{"duplicate": false, "matched": true, "job_id": "%s", "directory_id": "dir-mail", "woken": true}', :'job')::jsonb,
  'the directory''s authenticated mail, coming after the forgery, is matched and wakes the job');
select results_eq(format($$ select wake_mail_id from job_directories where job_id = %L $$, :'job'),
  format('values (%s::bigint)', :'real'::jsonb ->> 'id'), 'the directory names the real mail');

-- 1b. Mail before the wait: only authenticated mail is taken ----------------------------------
select directories_sync($$[
  {"id": "dir-a", "name": "A", "homepage": "https://a.example/", "tier": "starter", "priority": 1, "mode": "auto", "enabled": true}
]$$::jsonb) \gset
select id as job2, customer_id as customer2 from jobs_enqueue(dev.create_paid_order('early@example.com', 'starter')) \gset
insert into inbound_emails (provider, provider_message_id, customer_id, recipient, sender, subject, body_text, sender_authenticated)
values ('mailgun', '<forged-early@a.example>', :'customer2', 'x', 'noreply@a.example', 'Confirm', 'evil', false);
select is(private.inbound_emails_match_parked(:'job2', 'dir-a'), null::bigint,
  'a directory parking after a forged mail came does not take it');
insert into inbound_emails (provider, provider_message_id, customer_id, recipient, sender, subject, body_text, sender_authenticated)
values ('mailgun', '<early@a.example>', :'customer2', 'x', 'noreply@a.example', 'Confirm', 'code 1', true)
returning id as early \gset
select is(private.inbound_emails_match_parked(:'job2', 'dir-a'), :'early'::bigint,
  'it takes the authenticated one');

-- 2. Staff read no bodies; 3. the customer reads theirs, cut ---------------------------------
insert into inbound_emails (provider, provider_message_id, customer_id, recipient, sender, subject, body_text, body_html, received_at)
values ('mailgun', '<long@x.example>', :'customer', :'box', 'news@x.example', 'Long', repeat('a', 25000), '<p>x</p>', now() + interval '1 minute');

select set_config('request.jwt.claims', jsonb_build_object('sub', gen_random_uuid(), 'role', 'authenticated',
  'app_metadata', jsonb_build_object('role', 'staff'))::text, true) \gset
set local role dbolt_staff;
select throws_ok('select body_text from inbound_emails', '42501', NULL,
  'staff (dbolt_staff) cannot read a mail''s text: verification links are for the audited reveal only');
select throws_ok('select body_html from inbound_emails', '42501', NULL, 'nor its HTML');
select ok((select count(*) from inbound_emails where sender = 'noreply@listings-one.example') = 2,
  'staff still read every mailbox''s senders and subjects');
select is_empty('select * from inbound_emails_list_own(100, 20000)',
  'the customer''s list function gives staff no one else''s mail');
reset role;

select dev.impersonate(:'user_a') \gset
select throws_ok('select body_text from inbound_emails', '42501', NULL,
  'a customer reads no body from the table itself either');
select results_eq($$ select subject, length(body_text), body_cut from inbound_emails_list_own(100, 20000) $$,
  $$ values ('Long', 20000, true), ('Confirm', 43, false), ('Confirm', 31, false) $$,
  'a customer reads their own mail''s text through inbound_emails_list_own, cut to 20,000 characters and saying so');
select results_eq($$ select count(*)::int from inbound_emails_list_own(1, 10) $$, 'values (1)',
  'at most the asked number of mails');
select is((select length(body_text) from inbound_emails_list_own(0, 1000000)), 25000,
  'the limits are clamped: at least one mail, at most 100,000 characters');
reset role;
select dev.impersonate(:'user_b') \gset
select is_empty('select * from inbound_emails_list_own(100, 20000)', 'another customer reads none of it');
reset role;

select * from finish();
rollback;
