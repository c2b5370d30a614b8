-- stripe_events_apply (service role only): each Stripe event's effect is one guarded,
-- idempotent transaction. A replay changes nothing; orders are idempotent per Checkout
-- Session; refunds and disputes find the order by payment intent, cancel its job unless it
-- is complete, and are remembered when they arrive before the order; refused events are
-- recorded with their error, not lost. customers_link_user links the Auth user.
begin;
set search_path = public, extensions;
select plan(65);

select directories_sync($$[
  {"id": "dir-a", "name": "A", "homepage": "http://127.0.0.1:9/a", "tier": "starter", "priority": 1, "mode": "auto", "enabled": true}
]$$::jsonb) \gset

create function pg_temp.session_event(
  event_id text, event_type text, session_id text, email text, tier text, intent text,
  payment_status text default 'paid'
) returns jsonb language sql as $$
  select jsonb_build_object('id', event_id, 'object', 'event', 'type', event_type,
    'data', jsonb_build_object('object', jsonb_build_object(
      'id', session_id, 'object', 'checkout.session', 'payment_status', payment_status,
      'status', 'complete', 'payment_intent', intent,
      -- What the package costs, as a session our checkout created is paid.
      'amount_total', coalesce((select t.price_amount from public.tiers t where t.name = tier), 14900),
      'currency', 'usd',
      'customer_email', null, 'customer_details', jsonb_build_object('email', email),
      'metadata', case when tier is null then '{}'::jsonb else jsonb_build_object('tier', tier) end)))
$$;
create function pg_temp.charge_event(
  event_id text, event_type text, intent text, refunded boolean default true
) returns jsonb language sql as $$
  select jsonb_build_object('id', event_id, 'object', 'event', 'type', event_type,
    'data', jsonb_build_object('object', jsonb_build_object(
      'id', 'ch_' || md5(event_id), 'object', case when event_type like 'charge.dispute%'
        then 'dispute' else 'charge' end,
      'payment_intent', intent, 'amount', 14900, 'refunded', refunded,
      'amount_refunded', case when refunded then 14900 else 1000 end)))
$$;
-- Fills the customer's Business Info Form with the sample business, as the portal would.
create function pg_temp.fill_business(customer uuid) returns void language sql as $$
  update customers c set business_name = b ->> 'business_name', street_address = b ->> 'street_address',
    city = b ->> 'city', region = b ->> 'region', postal_code = b ->> 'postal_code',
    country = b ->> 'country', phone = b ->> 'phone', website = b ->> 'website',
    category = b ->> 'category', hours = b -> 'hours'
   from (select dev.sample_business() as b) s where c.id = customer
$$;
-- As the webhook calls it once the session's checkout proof verified (checkout sessions made
-- by our checkout function; 175_stripe_events_refuse_sessions_our_checkout_did_not_issue.sql
-- covers the ones that are not).
create function pg_temp.apply(event jsonb) returns jsonb language sql as $$
  select stripe_events_apply(event, true)
$$;
create function pg_temp.order_for(session text) returns orders language sql as $$
  select * from orders where stripe_checkout_session_id = session
$$;

-- Who may call -----------------------------------------------------------------------------
select ok(not has_function_privilege('anon', 'public.stripe_events_apply(jsonb)', 'execute'),
  'anon cannot execute stripe_events_apply');
select ok(not has_function_privilege('authenticated', 'public.stripe_events_apply(jsonb)', 'execute'),
  'authenticated cannot execute stripe_events_apply');
select ok(has_function_privilege('service_role', 'public.stripe_events_apply(jsonb)', 'execute'),
  'service_role can execute stripe_events_apply');
select ok(not has_function_privilege('authenticated', 'public.customers_link_user(uuid, uuid)', 'execute'),
  'authenticated cannot execute customers_link_user');
select ok(has_function_privilege('service_role', 'public.customers_link_user(uuid, uuid)', 'execute'),
  'service_role can execute customers_link_user');
set local role authenticated;
select set_config('request.jwt.claims', '{"role":"authenticated","sub":"00000000-0000-0000-0000-00000000000a"}', true) \gset
select throws_ok($$ select stripe_events_apply(pg_temp.session_event('evt_browser', 'checkout.session.completed', 'cs_test_browser', 'x@example.com', 'starter', 'pi_browser')) $$,
  '42501', NULL, 'a signed-in user calling stripe_events_apply is refused (permission denied)');
select throws_ok('select count(*) from payment_reversals', '42501', NULL,
  'a signed-in user cannot read payment_reversals');
reset role;
select is_empty($$ select 1 from orders where stripe_checkout_session_id = 'cs_test_browser' $$,
  'the refused call created no order');

-- The rest runs as the database owner, as the webhook's connection does.
-- checkout.session.completed, paid --------------------------------------------------------
create temp table applied on commit drop as
  select pg_temp.apply(pg_temp.session_event('evt_1', 'checkout.session.completed',
    'cs_test_1', ' Owner@Bakery.Example ', 'starter', 'pi_1')) as r;
select is((select r ->> 'outcome' from applied), 'order_paid', 'a paid checkout creates a paid order');
select is((select r ->> 'duplicate' from applied), 'false', 'the first delivery is not a duplicate');
select results_eq(
  $$ select o.tier, o.status::text, o.stripe_payment_intent_id, o.amount_total, o.currency,
            o.paid_at is not null, c.email, c.user_id is null
       from orders o join customers c on c.id = o.customer_id
      where o.stripe_checkout_session_id = 'cs_test_1' $$,
  $$ values ('starter', 'paid', 'pi_1', 14900, 'usd', true, 'owner@bakery.example', true) $$,
  'the order has the tier, payment intent, amount and paid_at; the customer is found by lowercased email and not linked yet');
select is((select (r ->> 'order_id')::uuid from applied), (pg_temp.order_for('cs_test_1')).id,
  'the answer names the order');
select results_eq($$ select type, processed_at is not null, outcome, error from stripe_events where id = 'evt_1' $$,
  $$ values ('checkout.session.completed', true, 'order_paid', null::text) $$,
  'the event is recorded as processed with its outcome');

-- Replays and other events for the same session -------------------------------------------
select is((pg_temp.apply(pg_temp.session_event('evt_1', 'checkout.session.completed',
    'cs_test_1', 'owner@bakery.example', 'starter', 'pi_1')) ->> 'duplicate'), 'true',
  'the same event again is answered as a duplicate');
select is((select count(*)::int from orders where stripe_checkout_session_id = 'cs_test_1'), 1,
  'a replay creates no second order');
select is((select count(*)::int from stripe_events where id = 'evt_1'), 1, 'the event is recorded once');
select is(pg_temp.apply(pg_temp.session_event('evt_1b', 'checkout.session.async_payment_succeeded',
    'cs_test_1', 'owner@bakery.example', 'starter', 'pi_1')) ->> 'outcome', 'order_already_paid',
  'another event for the same session finds the order already paid');
select is((select count(*)::int from orders where stripe_checkout_session_id = 'cs_test_1'), 1,
  'still one order per Checkout Session');
select is(pg_temp.apply(pg_temp.session_event('evt_2', 'checkout.session.completed',
    'cs_test_2', 'OWNER@bakery.example', 'growth', 'pi_2')) ->> 'outcome', 'order_paid',
  'a second purchase by the same buyer');
select is((select count(distinct customer_id)::int from orders where stripe_checkout_session_id in ('cs_test_1', 'cs_test_2')), 1,
  'both orders belong to the one customer (email case ignored)');

-- Unknown and refused events --------------------------------------------------------------
select is(stripe_events_apply('{"id": "evt_3", "type": "customer.created", "data": {"object": {"id": "cus_1"}}}') ->> 'outcome',
  'ignored_unknown_type', 'an unknown event type is acknowledged');
select results_eq($$ select processed_at is not null, outcome from stripe_events where id = 'evt_3' $$,
  $$ values (true, 'ignored_unknown_type') $$, 'and recorded as processed');
select is(pg_temp.apply(pg_temp.session_event('evt_4', 'checkout.session.completed',
    'cs_test_4', 'no-tier@example.com', null, 'pi_4')) ->> 'outcome', 'rejected',
  'a checkout without a tier is refused');
select results_eq($$ select processed_at is null, outcome, error like '%metadata.tier is required%' from stripe_events where id = 'evt_4' $$,
  $$ values (true, 'rejected', true) $$, 'the refused event is kept, unprocessed, with an error naming metadata.tier');
select is_empty($$ select 1 from orders where stripe_checkout_session_id = 'cs_test_4' $$,
  'the refused event created no order');
select is_empty($$ select 1 from customers where email = 'no-tier@example.com' $$,
  'nor a customer (the refusal rolled its whole effect back)');
select is(pg_temp.apply(pg_temp.session_event('evt_4', 'checkout.session.completed',
    'cs_test_4', 'no-tier@example.com', 'platinum', 'pi_4')) ->> 'error',
  'metadata.tier ''platinum'' is not a package', 'a refused event sent again is tried again (and names the bad tier)');
select is(pg_temp.apply(pg_temp.session_event('evt_5', 'checkout.session.completed',
    'cs_test_5', 'not-an-email', 'starter', 'pi_5')) ->> 'error',
  'customer_details.email is required and must be an email address', 'a checkout without a buyer email is refused');
select throws_ok($$ select stripe_events_apply('{"id": "nope", "type": "x", "data": {"object": {}}}') $$,
  'DB005', 'id must be an event id (evt_…)', 'a malformed event id is refused with DB005');
select throws_ok($$ select stripe_events_apply('{"id": "evt_6", "type": "x"}') $$,
  'DB005', 'data.object is required', 'an event without data.object is refused with DB005');

-- Delayed payments --------------------------------------------------------------------------
select is(pg_temp.apply(pg_temp.session_event('evt_7', 'checkout.session.completed',
    'cs_test_7', 'debit@example.com', 'starter', 'pi_7', 'unpaid')) ->> 'outcome', 'order_pending',
  'a checkout completed unpaid (bank debit) creates a pending order');
select is(pg_temp.apply(pg_temp.session_event('evt_8', 'checkout.session.async_payment_succeeded',
    'cs_test_7', 'debit@example.com', 'starter', 'pi_7')) ->> 'outcome', 'order_paid',
  'the delayed payment succeeding makes it paid');
select ok((pg_temp.order_for('cs_test_7')).paid_at is not null, 'with paid_at');
select is(pg_temp.apply(pg_temp.session_event('evt_9', 'checkout.session.completed',
    'cs_test_9', 'fail@example.com', 'starter', 'pi_9', 'unpaid')) ->> 'outcome', 'order_pending',
  'another delayed payment: pending');
select is(pg_temp.apply(pg_temp.session_event('evt_10', 'checkout.session.async_payment_failed',
    'cs_test_9', 'fail@example.com', 'starter', 'pi_9', 'unpaid')) ->> 'outcome', 'order_payment_failed',
  'its failure marks the order payment_failed');
select is(pg_temp.apply(pg_temp.session_event('evt_11', 'checkout.session.async_payment_failed',
    'cs_test_11', 'early-fail@example.com', 'growth', 'pi_11', 'unpaid')) ->> 'outcome', 'order_payment_failed',
  'a failure seen before its checkout creates the order as payment_failed');
select is(pg_temp.apply(pg_temp.session_event('evt_12', 'checkout.session.completed',
    'cs_test_11', 'early-fail@example.com', 'growth', 'pi_11', 'unpaid')) ->> 'outcome', 'order_stays_payment_failed',
  'the late checkout.session.completed leaves it payment_failed');
select throws_ok(format('select jobs_enqueue(%L)', (pg_temp.order_for('cs_test_11')).id), 'DB002', NULL,
  'a payment_failed order cannot be enqueued');

-- Refund after completion: the pending job is cancelled --------------------------------------
select pg_temp.fill_business((pg_temp.order_for('cs_test_1')).customer_id) \gset
select id as job_1 from jobs_enqueue((pg_temp.order_for('cs_test_1')).id) \gset
select results_eq($$ select r ->> 'outcome', r ->> 'job' from (select pg_temp.apply(pg_temp.charge_event('evt_20', 'charge.refunded', 'pi_1')) as r) x $$,
  $$ values ('order_refunded', 'job_cancelled') $$, 'a refund marks the order refunded and cancels its job');
select is((pg_temp.order_for('cs_test_1')).status::text, 'refunded', 'the order is refunded');
select is((select status::text from jobs where id = :'job_1'), 'cancelled', 'the job is cancelled');
select is((select count(*)::int from job_directories where job_id = :'job_1' and status = 'skipped'), 1,
  'its directories are skipped (jobs_cancel semantics)');
select results_eq(format($$ select actor from audit_log where action = 'job.cancelled' and job_id = %L $$, :'job_1'),
  $$ values ('stripe:evt_20') $$, 'the cancellation is audited with the Stripe event as actor');
select is(pg_temp.apply(pg_temp.charge_event('evt_20', 'charge.refunded', 'pi_1')) ->> 'duplicate', 'true',
  'the refund replayed is a duplicate');

-- Refund after the job completed: the job stays complete -------------------------------------
select id as job_2, lease_token as token_2 from jobs_enqueue((pg_temp.order_for('cs_test_2')).id) \gset
select id as claimed_2, lease_token as token_2 from jobs_next('worker-1', 300) \gset
select jobs_report_attempt(job_id => :'job_2', lease_token => :'token_2',
  report => '{"directory_id": "dir-a", "attempt": 1, "outcome": "success", "confirmed": true}') \gset
select jobs_complete(:'job_2', :'token_2') \gset
select results_eq($$ select r ->> 'outcome', r ->> 'job' from (select pg_temp.apply(pg_temp.charge_event('evt_21', 'charge.refunded', 'pi_2')) as r) x $$,
  $$ values ('order_refunded', 'job_complete') $$, 'a refund after completion marks the order refunded');
select is((select status::text from jobs where id = :'job_2'), 'complete', 'the complete job stays complete');

-- Refund BEFORE the checkout event (out of order) ------------------------------------------
select is(pg_temp.apply(pg_temp.charge_event('evt_30', 'charge.refunded', 'pi_30')) ->> 'outcome',
  'refunded_remembered', 'a refund for an unknown payment intent is remembered');
select results_eq($$ select kind::text, stripe_event_id, applied_at is null from payment_reversals where payment_intent_id = 'pi_30' $$,
  $$ values ('refunded', 'evt_30', true) $$, 'against its payment intent');
select is(pg_temp.apply(pg_temp.session_event('evt_31', 'checkout.session.completed',
    'cs_test_30', 'late@example.com', 'starter', 'pi_30')) ->> 'outcome', 'order_refunded',
  'the late checkout creates the order already refunded');
select ok((select applied_at is not null from payment_reversals where payment_intent_id = 'pi_30'),
  'the remembered refund is marked applied');
select pg_temp.fill_business((pg_temp.order_for('cs_test_30')).customer_id) \gset
select throws_ok(format('select jobs_enqueue(%L)', (pg_temp.order_for('cs_test_30')).id), 'DB002', NULL,
  'no job can be enqueued for the refunded order');
select is(pg_temp.apply(pg_temp.session_event('evt_32', 'checkout.session.async_payment_succeeded',
    'cs_test_30', 'late@example.com', 'starter', 'pi_30')) ->> 'outcome', 'order_stays_refunded',
  'a later success event does not resurrect it');

-- Disputes, partial refunds ---------------------------------------------------------------
select pg_temp.apply(pg_temp.session_event('evt_40', 'checkout.session.completed',
  'cs_test_40', 'dispute@example.com', 'starter', 'pi_40')) \gset
select is(pg_temp.apply(pg_temp.charge_event('evt_41', 'charge.dispute.created', 'pi_40')) ->> 'outcome',
  'order_disputed', 'a dispute marks the order disputed');
select is(pg_temp.apply(pg_temp.charge_event('evt_42', 'charge.refunded', 'pi_40')) ->> 'outcome',
  'order_refunded', 'a refund after a dispute makes it refunded');
select is(pg_temp.apply(pg_temp.charge_event('evt_43', 'charge.dispute.created', 'pi_43')) ->> 'outcome',
  'disputed_remembered', 'a dispute before its checkout is remembered');
select is(pg_temp.apply(pg_temp.session_event('evt_44', 'checkout.session.completed',
    'cs_test_43', 'dispute2@example.com', 'starter', 'pi_43')) ->> 'outcome', 'order_disputed',
  'and the late checkout creates the order disputed');
select pg_temp.apply(pg_temp.session_event('evt_50', 'checkout.session.completed',
  'cs_test_50', 'partial@example.com', 'starter', 'pi_50')) \gset
select is(pg_temp.apply(pg_temp.charge_event('evt_51', 'charge.refunded', 'pi_50', false)) ->> 'outcome',
  'partial_refund_noted', 'a partial refund is noted');
select is((pg_temp.order_for('cs_test_50')).status::text, 'paid', 'and leaves the order paid');
select is(pg_temp.apply(pg_temp.charge_event('evt_52', 'charge.refunded', 'not-a-pi')) ->> 'outcome',
  'rejected', 'a refund without a payment intent is refused and recorded');

-- customers_link_user ----------------------------------------------------------------------
insert into auth.users (instance_id, id, aud, role, email, raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
values ('00000000-0000-0000-0000-000000000000', '00000000-0000-0000-0000-0000000000b1', 'authenticated', 'authenticated', 'debit@example.com', '{}', '{}', now(), now()),
       ('00000000-0000-0000-0000-000000000000', '00000000-0000-0000-0000-0000000000b2', 'authenticated', 'authenticated', 'Partial@Example.com', '{}', '{}', now(), now());
select (pg_temp.order_for('cs_test_7')).customer_id as debit_customer \gset
select is((customers_link_user(:'debit_customer', '00000000-0000-0000-0000-0000000000b1')).user_id,
  '00000000-0000-0000-0000-0000000000b1'::uuid, 'the customer is linked to the Auth user of the same address');
select lives_ok(format('select customers_link_user(%L, %L)', :'debit_customer', '00000000-0000-0000-0000-0000000000b1'),
  'linking again is a no-op');
select throws_ok(format('select customers_link_user(%L, %L)', :'debit_customer', '00000000-0000-0000-0000-0000000000b2'),
  'DB005', NULL, 'a user of another address is refused with DB005');
select throws_ok(format('select customers_link_user(%L, %L)', gen_random_uuid(), '00000000-0000-0000-0000-0000000000b1'),
  'DB003', NULL, 'an unknown customer is refused with DB003');
select throws_ok(format('select customers_link_user(%L, %L)', :'debit_customer', gen_random_uuid()),
  'DB003', NULL, 'an unknown user is refused with DB003');
update customers set user_id = null where id = (pg_temp.order_for('cs_test_50')).customer_id;
select is((customers_link_user((pg_temp.order_for('cs_test_50')).customer_id, '00000000-0000-0000-0000-0000000000b2')).email,
  'partial@example.com', 'the address is compared case-insensitively');
reset role;

select * from finish();
rollback;
