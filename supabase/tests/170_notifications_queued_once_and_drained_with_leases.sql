-- The email outbox: triggers queue each customer email in the same transaction as the state
-- change (payment received, job started, job complete, needs action), once per dedupe key;
-- notifications_claim/mark_sent/mark_failed drain it with leases and SKIP LOCKED, retry
-- with backoff and keep dead messages; reminders chase unresolved needs-action jobs.
-- Service role only.
begin;
set search_path = public, extensions;
select plan(51);

select directories_sync($$[
  {"id": "dir-a", "name": "A", "homepage": "http://127.0.0.1:9/a", "tier": "starter", "priority": 1, "mode": "auto", "enabled": true},
  {"id": "dir-b", "name": "B", "homepage": "http://127.0.0.1:9/b", "tier": "starter", "priority": 2, "mode": "auto", "enabled": true}
]$$::jsonb) \gset

create function pg_temp.paid(event_id text, session_id text, email text, intent text) returns jsonb
language sql as $$
  select stripe_events_apply(jsonb_build_object('id', event_id, 'type', 'checkout.session.completed',
    'data', jsonb_build_object('object', jsonb_build_object('id', session_id, 'payment_status', 'paid',
      'payment_intent', intent, 'amount_total', 14900, 'currency', 'usd',
      'customer_details', jsonb_build_object('email', email), 'metadata', '{"tier": "starter"}'::jsonb))),
    true)
$$;

-- Who may call -----------------------------------------------------------------------------
create temp table outbox_functions (fn regprocedure primary key) on commit drop;
insert into outbox_functions values
  ('public.notifications_claim(int, int)'),
  ('public.notifications_mark_sent(bigint, uuid)'),
  ('public.notifications_mark_failed(bigint, uuid, text, int, int)'),
  ('public.notifications_mark_skipped(bigint, uuid, text)'),
  ('public.notifications_enqueue_reminders(int, int)');
select ok(not has_function_privilege('authenticated', fn, 'execute')
          and not has_function_privilege('anon', fn, 'execute'),
  fn::text || ' is not executable by anon or authenticated') from outbox_functions order by fn::text;
select ok(has_function_privilege('service_role', fn, 'execute'), fn::text || ' is executable by service_role')
  from outbox_functions order by fn::text;
select ok((select relrowsecurity from pg_class where oid = 'public.notifications'::regclass),
  'notifications has row level security on');
select ok(not has_table_privilege('authenticated', 'public.notifications', 'SELECT'),
  'a signed-in user cannot read the outbox');
set local role authenticated;
select set_config('request.jwt.claims', '{"role":"authenticated","sub":"00000000-0000-0000-0000-00000000000a"}', true) \gset
select throws_ok('select * from notifications_claim(10, 60)', '42501', NULL,
  'a signed-in user calling notifications_claim is refused');
reset role;

-- Payment received --------------------------------------------------------------------------
select (pg_temp.paid('evt_n1', 'cs_test_n1', 'Buyer@Example.com', 'pi_n1') ->> 'order_id') as order_1 \gset
select results_eq(format($$ select kind::text, dedupe_key, recipient, order_id, job_id, payload ->> 'tier'
                            from notifications where order_id = %L $$, :'order_1'),
  format($$ values ('payment_received', 'payment_received:%s', 'buyer@example.com', %L::uuid, null::uuid, 'starter') $$,
         :'order_1', :'order_1'),
  'a paid checkout queues the payment-received email in the same transaction');
select pg_temp.paid('evt_n1', 'cs_test_n1', 'buyer@example.com', 'pi_n1') \gset
select pg_temp.paid('evt_n1b', 'cs_test_n1', 'buyer@example.com', 'pi_n1') \gset
select is((select count(*)::int from notifications where kind = 'payment_received'), 1,
  'a replayed or repeated checkout queues no second email');

select stripe_events_apply('{"id": "evt_n2r", "type": "charge.refunded", "data": {"object": {"payment_intent": "pi_n2", "refunded": true}}}') \gset
select (pg_temp.paid('evt_n2', 'cs_test_n2', 'refunded@example.com', 'pi_n2') ->> 'order_id') as order_2 \gset
select is_empty(format('select 1 from notifications where order_id = %L', :'order_2'),
  'an order born refunded (its refund came first) gets no payment email');

select stripe_events_apply(jsonb_build_object('id', 'evt_n3', 'type', 'checkout.session.completed',
  'data', jsonb_build_object('object', jsonb_build_object('id', 'cs_test_n3', 'payment_status', 'unpaid',
    'payment_intent', 'pi_n3', 'amount_total', 14900, 'currency', 'usd',
    'customer_details', jsonb_build_object('email', 'debit@example.com'),
    'metadata', '{"tier": "starter"}'::jsonb))), true) \gset
select is((select count(*)::int from notifications n join orders o on o.id = n.order_id
            where o.stripe_checkout_session_id = 'cs_test_n3'), 0, 'a pending (unpaid) order gets no payment email');
select stripe_events_apply(jsonb_build_object('id', 'evt_n4', 'type', 'checkout.session.async_payment_succeeded',
  'data', jsonb_build_object('object', jsonb_build_object('id', 'cs_test_n3', 'payment_status', 'paid',
    'payment_intent', 'pi_n3', 'amount_total', 14900, 'currency', 'usd',
    'customer_details', jsonb_build_object('email', 'debit@example.com'),
    'metadata', '{"tier": "starter"}'::jsonb))), true) \gset
select is((select count(*)::int from notifications n join orders o on o.id = n.order_id
            where o.stripe_checkout_session_id = 'cs_test_n3' and n.kind = 'payment_received'), 1,
  'once its delayed payment succeeds it does');

-- A rolled-back change queues nothing --------------------------------------------------------
savepoint before_failed_checkout;
select pg_temp.paid('evt_n5', 'cs_test_n5', 'rolled-back@example.com', 'pi_n5') \gset
rollback to savepoint before_failed_checkout;
select is_empty($$ select 1 from notifications where recipient = 'rolled-back@example.com' $$,
  'a checkout rolled back leaves no email behind');

-- Job started, needs action, complete ---------------------------------------------------------
select id as job_1 from jobs_enqueue(dev.create_paid_order('jobs@example.com', 'starter')) \gset
select is((select count(*)::int from notifications where job_id = :'job_1'), 0, 'a pending job sends nothing yet');
select id as claimed, lease_token as token from jobs_next('worker-1', 300) \gset
select results_eq(format($$ select kind::text, dedupe_key, recipient from notifications where job_id = %L $$, :'job_1'),
  format($$ values ('job_started', 'job_started:%s', 'jobs@example.com') $$, :'job_1'),
  'the first claim queues the job-started email');
select jobs_release(:'job_1', :'token') \gset
select id as claimed, lease_token as token from jobs_next('worker-2', 300) \gset
select is((select count(*)::int from notifications where job_id = :'job_1' and kind = 'job_started'), 1,
  'a second claim after a release sends no second job-started email');
select jobs_report_attempt(job_id => :'job_1', lease_token => :'token',
  report => '{"directory_id": "dir-a", "attempt": 1, "outcome": "needs_action", "action_required": "Click the link in the email from A"}') \gset
select jobs_report_attempt(job_id => :'job_1', lease_token => :'token',
  report => '{"directory_id": "dir-b", "attempt": 1, "outcome": "needs_action", "action_required": "Call B to confirm"}') \gset
select results_eq(format($$ select kind::text, payload ->> 'first_directory_id' from notifications
                            where job_id = %L and kind = 'needs_action' $$, :'job_1'),
  $$ values ('needs_action', 'dir-a') $$,
  'the first directory needing action queues one needs-action email for the job (not one per directory)');
select jobs_complete(:'job_1', :'token') \gset
select is((select count(*)::int from notifications where job_id = :'job_1' and kind = 'job_complete'), 1,
  'completion queues the job-complete email');

-- Draining -----------------------------------------------------------------------------------
select throws_ok('select * from notifications_claim(0, 60)', 'DB005', 'batch_size must be between 1 and 1000',
  'a batch size of 0 is refused with DB005');
create temp table first_claim on commit drop as select * from notifications_claim(2, 60);
select is((select count(*)::int from first_claim), 2, 'a claim takes at most batch_size messages');
select ok((select bool_and(attempts = 1 and claim_token is not null and claimed_until > now()) from first_claim),
  'claimed messages count an attempt and carry a lease');
select results_eq('select id from first_claim order by id',
  'select id from notifications order by send_after, id limit 2', 'oldest first');
create temp table second_claim on commit drop as select * from notifications_claim(100, 60);
select is_empty('select id from first_claim intersect select id from second_claim',
  'a second claim never takes a message under lease');
select is((select count(*)::int from second_claim), (select count(*)::int - 2 from notifications),
  'and takes every other due message');
select is((select count(*)::int from notifications_claim(100, 60)), 0, 'nothing is left to claim');

select id as sent_id, claim_token as sent_token from first_claim order by id limit 1 \gset
select ok((notifications_mark_sent(:'sent_id', :'sent_token')).sent_at is not null, 'mark_sent records sent_at');
select throws_ok(format('select notifications_mark_sent(%s, %L)', :'sent_id', :'sent_token'), 'DB001', NULL,
  'marking it sent again is refused with DB001 (it is settled)');
select throws_ok(format('select notifications_mark_sent(%s, %L)', :'sent_id', gen_random_uuid()), 'DB001', NULL,
  'a stranger''s claim token is refused with DB001');
select throws_ok('select notifications_mark_sent(-1, gen_random_uuid())', 'DB003', NULL,
  'an unknown message is refused with DB003');

select id as failed_id, claim_token as failed_token from first_claim order by id offset 1 limit 1 \gset
select throws_ok(format('select notifications_mark_failed(%s, %L, %L)', :'failed_id', :'failed_token', ' '),
  'DB005', 'error is required', 'a failure without an error is refused with DB005');
create temp table failed_once on commit drop as
  select * from notifications_mark_failed(:'failed_id', :'failed_token', 'SMTP 451 try later', 30, 2);
select results_eq('select last_error, sent_at, dead_at, claim_token from failed_once',
  $$ values ('SMTP 451 try later', null::timestamptz, null::timestamptz, null::uuid) $$,
  'a failed attempt keeps its error and releases the claim');
select ok((select send_after >= now() + interval '29 seconds' from failed_once),
  'the next attempt waits for the backoff');
select is((select count(*)::int from notifications_claim(100, 60) where id = :'failed_id'), 0,
  'it is not claimed again before its time');
update notifications set send_after = now() - interval '1 second' where id = :'failed_id';
select claim_token as retry_token from notifications_claim(100, 60) where id = :'failed_id' \gset
select ok((select attempts = 2 from notifications where id = :'failed_id'), 'once due, it is claimed again (attempt 2)');
create temp table failed_twice on commit drop as
  select * from notifications_mark_failed(:'failed_id', :'retry_token', 'SMTP 550 mailbox unavailable', 30, 2);
select ok((select dead_at is not null and last_error = 'SMTP 550 mailbox unavailable' from failed_twice),
  'after max_attempts the message is dead, with its last error, and kept');
update notifications set send_after = now() - interval '1 second' where id = :'failed_id';
select is((select count(*)::int from notifications_claim(100, 60) where id = :'failed_id'), 0,
  'a dead message is never claimed again');

-- Skipped ------------------------------------------------------------------------------------
select id as skipped_id, claim_token as skipped_token from second_claim order by id desc limit 1 \gset
select is((notifications_mark_skipped(:'skipped_id', :'skipped_token', 'order is refunded')).skipped_reason,
  'order is refunded', 'a message whose news no longer holds is settled as skipped, with the reason');
update notifications set send_after = now() - interval '1 second' where id = :'skipped_id';
select is((select count(*)::int from notifications_claim(100, 60) where id = :'skipped_id'), 0,
  'a skipped message is never claimed again');

-- An expired lease is claimed again ----------------------------------------------------------
select id as leased_id from second_claim order by id limit 1 \gset
update notifications set claimed_until = now() - interval '1 second' where id = :'leased_id';
select is((select count(*)::int from notifications_claim(100, 60) where id = :'leased_id'), 1,
  'a message whose notifier died (lease expired) is claimed by another');

-- Reminders ----------------------------------------------------------------------------------
select throws_ok('select notifications_enqueue_reminders(0, 3)', 'DB005', NULL,
  'a reminder interval of 0 is refused with DB005');
update notifications set sent_at = now() - interval '3 days', claim_token = null, claimed_until = null
 where job_id = :'job_1' and kind = 'needs_action';
select is(notifications_enqueue_reminders(172800, 2), 1, 'a job still needing action 2 days after the email is reminded');
select results_eq(format($$ select dedupe_key, payload ->> 'reminder' from notifications
                            where job_id = %L and kind = 'needs_action_reminder' $$, :'job_1'),
  format($$ values ('needs_action_reminder:%s:1', '1') $$, :'job_1'), 'reminder 1 is queued');
select is(notifications_enqueue_reminders(172800, 2), 0, 'no second reminder while the first is unsent');
update notifications set sent_at = now() - interval '3 days' where job_id = :'job_1' and kind = 'needs_action_reminder';
select is(notifications_enqueue_reminders(172800, 2), 1, 'reminder 2 once reminder 1 is old');
update notifications set sent_at = now() - interval '3 days' where job_id = :'job_1' and kind = 'needs_action_reminder';
select is(notifications_enqueue_reminders(172800, 2), 0, 'never more than max_reminders');

select * from finish();
rollback;
