-- stripe_events_apply refuses to make an order from a Checkout Session our checkout did not
-- create (the webhook's proof check says issued_by_checkout = false, or a caller uses the
-- one-argument form), or one not paid at exactly the tier's price and currency. Each refused
-- event is kept, unprocessed, with its reason. checkout_sessions records what the portal
-- issued; service role only.
begin;
set search_path = public, extensions;
select plan(29);

create function pg_temp.paid(
  event_id text, session_id text, tier text default 'starter', amount int default 14900,
  currency text default 'usd'
) returns jsonb language sql as $$
  select jsonb_build_object('id', event_id, 'object', 'event', 'type', 'checkout.session.completed',
    'data', jsonb_build_object('object', jsonb_build_object(
      'id', session_id, 'object', 'checkout.session', 'payment_status', 'paid',
      'payment_intent', 'pi_' || md5(session_id), 'amount_total', amount, 'currency', currency,
      'customer_details', jsonb_build_object('email', event_id || '@example.com'),
      'metadata', jsonb_build_object('tier', tier))))
$$;
create function pg_temp.refused(event_id text) returns table (processed boolean, outcome text, error text)
language sql as $$
  select e.processed_at is not null, e.outcome, e.error from stripe_events e where e.id = event_id
$$;

-- Who may call -----------------------------------------------------------------------------
select ok(not has_function_privilege('anon', 'public.stripe_events_apply(jsonb, boolean)', 'execute'),
  'anon cannot execute stripe_events_apply(jsonb, boolean)');
select ok(not has_function_privilege('authenticated', 'public.stripe_events_apply(jsonb, boolean)', 'execute'),
  'authenticated cannot execute stripe_events_apply(jsonb, boolean)');
select ok(has_function_privilege('service_role', 'public.stripe_events_apply(jsonb, boolean)', 'execute'),
  'service_role can execute stripe_events_apply(jsonb, boolean)');
select ok(not has_function_privilege('authenticated', 'public.checkout_sessions_record(text, text)', 'execute'),
  'authenticated cannot record checkout sessions');
select ok(not has_function_privilege('anon', 'public.checkout_sessions_issued(text)', 'execute'),
  'anon cannot ask which sessions were issued');
select ok(has_function_privilege('service_role', 'public.checkout_sessions_issued(text)', 'execute'),
  'service_role can ask which sessions were issued');
select ok(not has_table_privilege('authenticated', 'public.checkout_sessions', 'select'),
  'authenticated cannot read checkout_sessions');
set local role authenticated;
select throws_ok($$ select stripe_events_apply(pg_temp.paid('evt_ci_browser', 'cs_test_ci_browser'), true) $$,
  '42501', NULL, 'a signed-in user cannot claim a session is ours');
reset role;

-- Allowed: our session, the tier's price ---------------------------------------------------
select is(stripe_events_apply(pg_temp.paid('evt_ci_ok', 'cs_test_ci_ok', 'growth', 29900), true) ->> 'outcome',
  'order_paid', 'a session our checkout created, paid at the growth price, becomes a paid order');
select results_eq($$ select tier, amount_total, currency from orders where stripe_checkout_session_id = 'cs_test_ci_ok' $$,
  $$ values ('growth'::text, 29900, 'usd'::text) $$, 'the order is the growth package at its price');

-- Denied: not created by our checkout -----------------------------------------------------
select is(stripe_events_apply(pg_temp.paid('evt_ci_foreign', 'cs_test_ci_foreign'), false) ->> 'outcome',
  'rejected', 'a session without a valid checkout proof is refused');
select results_eq($$ select * from pg_temp.refused('evt_ci_foreign') $$,
  $$ values (false, 'rejected'::text, 'Checkout Session cs_test_ci_foreign was not created by our checkout (metadata.checkout_proof is missing or does not verify)'::text) $$,
  'the refused event is kept, unprocessed, with its reason');
select is(stripe_events_apply(pg_temp.paid('evt_ci_legacy', 'cs_test_ci_legacy')) ->> 'outcome',
  'rejected', 'the one-argument form never vouches for a session');
select is(stripe_events_apply(jsonb_build_object('id', 'evt_ci_failed', 'type', 'checkout.session.async_payment_failed',
    'data', pg_temp.paid('x', 'cs_test_ci_failed') -> 'data'), false) ->> 'outcome',
  'rejected', 'not even a failed-payment order is made for a foreign session');

-- Denied: wrong amount, currency, price ----------------------------------------------------
select is(stripe_events_apply(pg_temp.paid('evt_ci_cent', 'cs_test_ci_cent', 'enterprise', 1), true) ->> 'outcome',
  'rejected', 'one cent for the enterprise package is refused');
select ok((select error from pg_temp.refused('evt_ci_cent')) = 'amount_total 1 is not the enterprise package''s price 99900 usd',
  'the reason names amount_total and the price');
select is(stripe_events_apply(pg_temp.paid('evt_ci_cheap_price', 'cs_test_ci_cheap_price', 'enterprise', 14900), true) ->> 'outcome',
  'rejected', 'the starter price sold under the enterprise name is refused');
select is(stripe_events_apply(pg_temp.paid('evt_ci_more', 'cs_test_ci_more', 'starter', 14901), true) ->> 'outcome',
  'rejected', 'any amount but the price is refused, more included (no discounts, no surcharges)');
select is(stripe_events_apply(pg_temp.paid('evt_ci_jpy', 'cs_test_ci_jpy', 'starter', 14900, 'jpy'), true) ->> 'outcome',
  'rejected', 'the right number in the wrong currency is refused');
select ok((select error from pg_temp.refused('evt_ci_jpy')) like 'currency jpy is not the starter package''s currency usd',
  'the reason names the currency');
select is(stripe_events_apply(pg_temp.paid('evt_ci_none', 'cs_test_ci_none', 'starter', null), true) ->> 'outcome',
  'rejected', 'a session without amount_total is refused');
select is_empty($$ select 1 from orders where stripe_checkout_session_id in ('cs_test_ci_foreign', 'cs_test_ci_legacy',
    'cs_test_ci_failed', 'cs_test_ci_cent', 'cs_test_ci_cheap_price', 'cs_test_ci_more', 'cs_test_ci_jpy', 'cs_test_ci_none') $$,
  'no refused event made an order');
select is((select count(*)::int from stripe_events where processed_at is null and error is not null), 8,
  'every refused event counts towards the rejected-events metric');

select is((select count(*)::int from alerts where kind = 'stripe_event_rejected' and acknowledged_at is null), 8,
  'each refused event is an alert on the staff dashboard, waiting to be acknowledged');
select ok(exists (select 1 from alerts where kind = 'stripe_event_rejected' and details ->> 'event_id' = 'evt_ci_cent'
                     and message like 'Stripe event evt_ci_cent (checkout.session.completed) was refused: amount_total 1 %'),
  'the alert names the event and the reason');

-- checkout_sessions: what the portal issued -------------------------------------------------
select lives_ok($$ select checkout_sessions_record('cs_test_ci_portal', 'starter'); select checkout_sessions_record('cs_test_ci_portal', 'starter') $$,
  'recording an issued session is idempotent');
select throws_ok($$ select checkout_sessions_record('not-a-session', 'starter') $$, 'DB005',
  'session_id must be a Checkout Session id (cs_…)', 'a malformed id is refused, naming session_id');
select results_eq($$ select checkout_sessions_issued('cs_test_ci_portal'), checkout_sessions_issued('cs_test_ci_ok') $$,
  $$ values (true, true) $$, 'a session the portal started, or one with an order, counts as issued');
select is(checkout_sessions_issued('cs_test_never_issued'), false, 'any other id does not');

select * from finish();
rollback;
