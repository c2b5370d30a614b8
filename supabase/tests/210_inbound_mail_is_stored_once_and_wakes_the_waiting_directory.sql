-- Campaign mailbox: one mailbox per customer, made with their first job and kept for the
-- next order; inbound_emails_receive stores a verified mail once per provider message id (a
-- replay returns the stored row), a delivery token carries one message only, an unknown
-- mailbox stores nothing, and a mail is matched to the customer's directory parked waiting
-- for an email from that sender (recipe verify_email.from, else the homepage's domain) and
-- subject, the earliest parked first: its job is woken, other customers' directories are
-- left alone (every mail here comes with its sender authenticated: unauthenticated mail is
-- 215's). Directories are parked here directly as the table owner (the parking
-- transitions are their own functions, tested in their own files).
begin;
set search_path = public, extensions;
select plan(45);

select directories_sync($$[
  {"id": "dir-mail", "name": "Listings One", "homepage": "https://www.listings-one.example/", "tier": "starter",
   "priority": 1, "mode": "recipe", "enabled": true,
   "recipe": {"phases": {"verify_email": {"from": "@listings-one.example", "subject": "Confirm", "timeout_hours": 48}},
              "steps": [{"goto": "https://www.listings-one.example/add"}]}},
  {"id": "dir-home", "name": "Home Site", "homepage": "https://www.homesite.example/biz", "tier": "starter",
   "priority": 2, "mode": "auto", "enabled": true},
  {"id": "dir-exact", "name": "Exact", "homepage": "https://exact.example", "tier": "starter",
   "priority": 3, "mode": "recipe", "enabled": true,
   "recipe": {"phases": {"verify_email": {"from": "robot@sender.example"}}, "steps": [{"goto": "https://exact.example/add"}]}}
]$$::jsonb) \gset

select dev.create_paid_order('alice@example.com', 'starter') as order_a1 \gset
select dev.create_paid_order('bob@example.com', 'starter') as order_b \gset
select id as cust_a, user_id as user_a from customers where email = 'alice@example.com' \gset
select id as cust_b, user_id as user_b from customers where email = 'bob@example.com' \gset

-- Mailboxes ----------------------------------------------------------------------------------
select is_empty(format('select 1 from customer_mailboxes where customer_id = %L', :'cust_a'),
  'a paid customer without a job has no mailbox yet');
select id as job_a1 from jobs_enqueue(:'order_a1') \gset
select local_part as box_a from customer_mailboxes where customer_id = :'cust_a' \gset
select ok(:'box_a' ~ '^[a-z0-9-]+-[0-9a-f]{8}$', 'the first job made the customer a mailbox (business name words, random suffix)');
select dev.create_paid_order('alice@example.com', 'starter') as order_a2 \gset
select id as job_a2 from jobs_enqueue(:'order_a2') \gset
select results_eq(format('select local_part from customer_mailboxes where customer_id = %L', :'cust_a'),
  format('values (%L)', :'box_a'), 'a second order''s job reuses the same mailbox');
select id as job_b from jobs_enqueue(:'order_b') \gset
select local_part as box_b from customer_mailboxes where customer_id = :'cust_b' \gset
select isnt(:'box_a'::text, :'box_b'::text, 'another customer gets another mailbox');

-- Nothing waits yet: a mail is kept, unmatched ---------------------------------------------
select inbound_emails_receive('mailgun', '<m1@listings-one.example>', :'box_a',
  'Noreply@Mail.Listings-One.example', 'Confirm your account', 'click https://x', '', p_sender_authenticated => true) as r1 \gset
select is(:'r1'::jsonb - 'id', '{"duplicate": false, "matched": false, "job_id": null, "directory_id": null, "woken": false}'::jsonb,
  'a mail nothing waits for is stored and says it matched nothing');
select results_eq(format('select customer_id, recipient, sender from inbound_emails where id = %s', :'r1'::jsonb ->> 'id'),
  format($$ values (%L::uuid, %L, 'noreply@mail.listings-one.example') $$, :'cust_a', :'box_a'),
  'it is stored for the mailbox''s customer, with the sender in lower case');

-- Park directories (as the parking transitions would) ------------------------------------
alter table job_directories disable trigger job_directories_touch_updated_at;
update jobs set status = 'waiting', wake_at = now() + interval '2 days' where id in (:'job_a1', :'job_a2', :'job_b');
update job_directories set status = 'waiting', phase = 'verify_email', wait_kind = 'email',
       wait_until = now() + interval '2 days', updated_at = now() - interval '3 hours'
 where job_id in (:'job_a1', :'job_b');
-- Alice's second job parked its directories later.
update job_directories set status = 'waiting', phase = 'verify_email', wait_kind = 'email',
       wait_until = now() + interval '2 days', updated_at = now() - interval '1 hour'
 where job_id = :'job_a2';
-- Bob's dir-home waits for a moderation delay, not an email.
update job_directories set wait_kind = 'moderation', phase = 'confirm'
 where job_id = :'job_b' and directory_id = 'dir-home';
alter table job_directories enable trigger job_directories_touch_updated_at;

-- A mail that fits: sender within the recipe's @domain, subject holds the substring --------
select inbound_emails_receive('mailgun', '<m2@listings-one.example>', :'box_a',
  'noreply@mail.listings-one.example', 'Please CONFIRM your account', 'code 123456', '<p>code</p>', 'tok-2', p_sender_authenticated => true) as r2 \gset
select (:'r2'::jsonb ->> 'id')::bigint as mail2 \gset
select is(:'r2'::jsonb - 'id', format('{"duplicate": false, "matched": true, "job_id": "%s", "directory_id": "dir-mail", "woken": true}', :'job_a1')::jsonb,
  'the mail matched the directory parked first (Alice''s first job) and woke it');
select results_eq(format('select job_id, directory_id, matched_at is not null from inbound_emails where id = %s', :'mail2'),
  format($$ values (%L::uuid, 'dir-mail', true) $$, :'job_a1'), 'the mail names the directory it woke');
select results_eq(format($$ select wake_mail_id, status::text from job_directories where job_id = %L and directory_id = 'dir-mail' $$, :'job_a1'),
  format($$ values (%s::bigint, 'waiting') $$, :'mail2'), 'the directory names the mail (still waiting, due now)');
select results_eq(format('select status::text, wake_at from jobs where id = %L', :'job_a1'),
  $$ values ('pending', null::timestamptz) $$, 'its job is pending again (a worker claims it)');
select results_eq(format($$ select actor, directory_id, details ->> 'mail_id' from audit_log
                             where action = 'directory.mail_arrived' and job_id = %L $$, :'job_a1'),
  format($$ values ('mail:%s', 'dir-mail', '%s') $$, :'mail2', :'mail2'), 'the arrival is audited as the mail');
select results_eq(format($$ select actor, from_status, to_status from audit_log where action = 'job.woken' and job_id = %L $$, :'job_a1'),
  format($$ values ('mail:%s', 'waiting', 'pending') $$, :'mail2'), 'the wake is audited as the mail');
select results_eq(format($$ select count(*)::int from job_directories where job_id = %L and wake_mail_id is not null $$, :'job_a2'),
  'values (0)', 'Alice''s later-parked job is left waiting');
select results_eq(format('select status::text from jobs where id = %L', :'job_a2'), $$ values ('waiting') $$,
  'and its job stays waiting');
select results_eq(format('select status::text, (select count(*)::int from job_directories where job_id = %L and wake_mail_id is not null) from jobs where id = %L', :'job_b', :'job_b'),
  $$ values ('waiting', 0) $$, 'Bob''s directory waiting for the same site is left alone');

-- Replays ----------------------------------------------------------------------------------
select inbound_emails_receive('mailgun', '<m2@listings-one.example>', :'box_a',
  'noreply@mail.listings-one.example', 'Please CONFIRM your account', 'changed body', '', 'tok-2b', p_sender_authenticated => true) as r2b \gset
select is(:'r2b'::jsonb, format('{"id": %s, "duplicate": true, "matched": true, "job_id": "%s", "directory_id": "dir-mail", "woken": false}', :'mail2', :'job_a1')::jsonb,
  'the same message again returns the stored row');
select results_eq($$ select count(*)::int, min(body_text) from inbound_emails where provider_message_id = '<m2@listings-one.example>' $$,
  $$ values (1, 'code 123456') $$, 'it is stored once, unchanged');
select results_eq(format($$ select count(*)::int from audit_log where action = 'directory.mail_arrived' and job_id = %L $$, :'job_a1'),
  'values (1)', 'and audited once');
select lives_ok(format($$ select inbound_emails_receive('mailgun', '<m2@listings-one.example>', %L, 'noreply@mail.listings-one.example', 'x', 'x', '', 'tok-2', p_sender_authenticated => true) $$, :'box_a'),
  'a retried delivery (same token, same message) is answered as a duplicate');
select throws_ok(format($$ select inbound_emails_receive('mailgun', '<forged@evil.example>', %L, 'noreply@mail.listings-one.example', 'Confirm', 'evil', '', 'tok-2', p_sender_authenticated => true) $$, :'box_a'),
  'DB005', 'the delivery token was already used for another message',
  'a used token carrying another message is refused');
select is_empty($$ select 1 from inbound_emails where provider_message_id = '<forged@evil.example>' $$,
  'and nothing of it is stored');
select throws_ok(format($$ select inbound_emails_receive('mailgun', '<m2@listings-one.example>', %L, 'noreply@mail.listings-one.example', 'x', 'x', '', p_sender_authenticated => true) $$, :'box_b'),
  'DB005', NULL, 'a message already stored for one mailbox is never stored for (or shown to) another');

-- Refusals ---------------------------------------------------------------------------------
select throws_ok($$ select inbound_emails_receive('mailgun', '<m3@x.example>', 'nobody-12345678', 'a@x.example', 's', 't', '', 'tok-3', p_sender_authenticated => true) $$,
  'DB003', 'no campaign mailbox nobody-12345678', 'an unknown mailbox is refused');
select is_empty($$ select 1 from inbound_emails where provider_message_id = '<m3@x.example>'
                  union all select 1 from private.inbound_mail_tokens where token = 'tok-3' $$,
  'nothing is stored for it, not even its token');
select throws_ok(format($$ select inbound_emails_receive('mailgun', '<m4@x.example>', %L, 'not an address', 's', 't', '', p_sender_authenticated => true) $$, :'box_a'),
  'DB005', 'sender must be an email address', 'a sender that is no address is refused, naming the field');
select throws_ok(format($$ select inbound_emails_receive('mailgun', '  ', %L, 'a@x.example', 's', 't', '', p_sender_authenticated => true) $$, :'box_a'),
  'DB005', 'provider_message_id is required (at most 998 characters)', 'a mail without a message id is refused, naming the field');

-- Matching rules ---------------------------------------------------------------------------
select inbound_emails_receive('mailgun', '<m5@listings-one.example>', :'box_a',
  'news@listings-one.example', 'Our weekly newsletter', 'hi', '', p_sender_authenticated => true) ->> 'matched' as m5 \gset
select is(:'m5'::text, 'false', 'the right sender with a subject lacking the recipe''s substring matches nothing');
select inbound_emails_receive('mailgun', '<m6@evil.example>', :'box_a',
  'noreply@listings-one.example.evil.example', 'Confirm', 'hi', '', p_sender_authenticated => true) ->> 'matched' as m6 \gset
select is(:'m6'::text, 'false', 'a look-alike domain (the site''s name as a subdomain of another) matches nothing');
select inbound_emails_receive('mailgun', '<m7@homesite.example>', :'box_a',
  'hello@em.homesite.example', 'Welcome', 'verify', '', p_sender_authenticated => true) as r7 \gset
select is(:'r7'::jsonb ->> 'directory_id', 'dir-home',
  'without a recipe sender, mail from (a subdomain of) the homepage''s domain matches');
select is(:'r7'::jsonb ->> 'job_id', :'job_a1'::text, 'again the earliest parked of the customer''s directories');
update jobs set status = 'cancelled', wake_at = null where id = :'job_a2';
select inbound_emails_receive('mailgun', '<m7b@homesite.example>', :'box_a',
  'hello@homesite.example', 'Welcome again', 'verify', '', p_sender_authenticated => true) ->> 'matched' as m7b \gset
select is(:'m7b'::text, 'false', 'a cancelled job''s directory, even left waiting, is not woken by mail');
select inbound_emails_receive('mailgun', '<m8@sender.example>', :'box_a',
  'other@sender.example', 'Verify', 'x', '', p_sender_authenticated => true) ->> 'matched' as m8 \gset
select is(:'m8'::text, 'false', 'a recipe naming one address matches only that address');
select inbound_emails_receive('mailgun', '<m9@sender.example>', :'box_a',
  'ROBOT@sender.example', 'Verify', 'x', '', p_sender_authenticated => true) ->> 'job_id' as m9 \gset
select is(:'m9'::text, :'job_a1'::text, 'that address matches, in any case');
select inbound_emails_receive('mailgun', '<m10@homesite.example>', :'box_b',
  'hello@homesite.example', 'Welcome', 'x', '', p_sender_authenticated => true) ->> 'matched' as m10 \gset
select is(:'m10'::text, 'false', 'a directory waiting for moderation is not woken by mail');
select inbound_emails_receive('mailgun', '<m11@listings-one.example>', :'box_b',
  'noreply@listings-one.example', 'Confirm now', 'x', '', p_sender_authenticated => true) ->> 'job_id' as m11 \gset
select is(:'m11'::text, :'job_b'::text, 'Bob''s own mail wakes Bob''s directory');

-- Who may call it and read the mail -------------------------------------------------------
select ok(not has_function_privilege('anon', 'inbound_emails_receive(text,text,text,text,text,text,text,text,boolean)', 'execute')
          and not has_function_privilege('authenticated', 'inbound_emails_receive(text,text,text,text,text,text,text,text,boolean)', 'execute')
          and has_function_privilege('service_role', 'inbound_emails_receive(text,text,text,text,text,text,text,text,boolean)', 'execute'),
  'only the service role may store mail');

-- Who reads it: the customer their own mailbox's mail, staff all, anon nothing -----------
select count(*)::int as all_mail from inbound_emails \gset
select count(*)::int as mail_a from inbound_emails where customer_id = :'cust_a' \gset
select dev.impersonate(:'user_a') \gset
select results_eq('select count(*)::int, count(distinct customer_id)::int from inbound_emails',
  format('values (%s, 1)', :'mail_a'), 'Alice reads all of her mailbox''s mail');
select is_empty(format('select 1 from inbound_emails where customer_id = %L', :'cust_b'), 'and none of Bob''s');
select results_eq('select local_part from customer_mailboxes', format('values (%L)', :'box_a'),
  'Alice reads only her own mailbox');
select throws_ok('select * from private.inbound_mail_tokens', '42501', NULL, 'Alice cannot read delivery tokens');
reset role;
select dev.impersonate(:'user_b') \gset
select results_eq('select count(*)::int from inbound_emails', 'values (2)', 'Bob reads his two mails');
select is_empty(format('select 1 from inbound_emails where customer_id = %L', :'cust_a'), 'and none of Alice''s');
reset role;
select set_config('request.jwt.claims', jsonb_build_object('sub', gen_random_uuid(), 'role', 'authenticated',
  'app_metadata', jsonb_build_object('role', 'staff'))::text, true) \gset
set local role dbolt_staff;
select results_eq('select count(*)::int from inbound_emails', format('values (%s)', :'all_mail'),
  'staff read every mailbox''s mail');
reset role;
set local role anon;
select set_config('request.jwt.claims', '{"role":"anon"}', true) \gset
select throws_ok('select id from inbound_emails', '42501', NULL, 'anon reads no mail at all');
select throws_ok(format($$ select inbound_emails_receive('mailgun', '<anon@x.example>', %L, 'a@x.example', 's', 't', '', p_sender_authenticated => true) $$, :'box_a'),
  '42501', NULL, 'anon calling inbound_emails_receive (forge a verification mail) is refused');
reset role;

select * from finish();
rollback;
