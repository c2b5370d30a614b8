-- Why: the webhook used to record a paid order for ANY Checkout Session whose metadata named a
-- package, at whatever amount and currency it was paid in: a Payment Link, another product on
-- the same Stripe account, a session made with a leaked restricted key, or a coupon could buy
-- a 500-directory package for one cent. From here on a checkout event becomes an order only
-- when
--   1. the session was created by our checkout Edge Function: it signs the session's own id,
--      tier and price into metadata.checkout_proof (HMAC with CHECKOUT_SIGNING_SECRET, see
--      dbolt/checkout_proof.py for why a signature rather than a table of issued sessions);
--      the webhook verifies it and passes the verdict as issued_by_checkout, since the secret
--      must not travel into SQL (statement logs) — and
--   2. amount_total and currency are exactly the tier's configured price (new columns on
--      tiers). Our checkout allows no promotion codes or discounts, so there is no discounted
--      amount to accept.
-- A refused event goes down the existing path: kept in stripe_events with outcome 'rejected'
-- and its reason in error, unprocessed, counted by directorybolt_stripe_events_rejected; and
-- now also shown to staff as an alert (kind stripe_event_rejected) until acknowledged.
--
-- Also: public.checkout_sessions, the sessions the portal's POST /checkout started, so the
-- onboarding page never asks Stripe about a session id the site did not issue.

-- The price of each package. Amounts are in the currency's smallest unit, as Stripe gives
-- amount_total. They must equal the Stripe Prices the checkout function sells
-- (STRIPE_PRICE_<TIER>); changing a price is a migration that updates these with it.
alter table public.tiers
  add column price_amount int check (price_amount > 0),
  add column price_currency text check (price_currency ~ '^[a-z]{3}$');
comment on column public.tiers.price_amount is
  'What the package costs, in the smallest currency unit; a checkout paying anything else is refused by stripe_events_apply.';
comment on column public.tiers.price_currency is
  'The currency price_amount is in (lower-case ISO 4217, as Stripe writes it).';
update public.tiers t set price_amount = p.amount, price_currency = 'usd'
  from (values ('starter', 14900), ('growth', 29900), ('professional', 59900),
               ('enterprise', 99900)) as p (tier, amount)
 where t.name = p.tier;
alter table public.tiers
  alter column price_amount set not null,
  alter column price_currency set not null;

-- The checkout rules need the proof's verdict: the old three-argument helper and the
-- one-argument stripe_events_apply (which had no way to receive it) are replaced. The
-- one-argument form stays as a wrapper that says "not verified", so any caller that does not
-- check the proof gets checkout sessions refused, never accepted.
drop function public.stripe_events_apply(jsonb);
drop function private.checkout_session_order(jsonb, public.order_status, text);

-- checkout.session.completed / async_payment_succeeded / async_payment_failed: the order for
-- this Checkout Session, created on first sight and moved towards `target`, only for a session
-- our checkout issued at the package's price. Idempotent per session id; the order's own row
-- lock serialises concurrent events for one session.
create function private.checkout_session_order(
  session jsonb, target public.order_status, actor text, issued_by_checkout boolean
) returns jsonb
language plpgsql set search_path = ''
as $$
declare
  v_session_id text := checkout_session_order.session ->> 'id';
  v_tier text := checkout_session_order.session -> 'metadata' ->> 'tier';
  v_intent text := nullif(checkout_session_order.session ->> 'payment_intent', '');
  v_amount int;
  v_currency text := lower(checkout_session_order.session ->> 'currency');
  v_customer uuid;
  v_order public.orders;
  v_from public.order_status;
  v_status public.order_status;
  v_new_id uuid;
  v_outcome text;
  v_tier_row public.tiers;
begin
  perform private.check_argument(coalesce(v_session_id, '') like 'cs\_%',
    'data.object.id must be a Checkout Session id (cs_…)');
  perform private.check_argument(v_tier is not null, 'metadata.tier is required on the Checkout Session');
  -- Before anything else: a session our checkout did not create never becomes an order,
  -- whatever it claims (see the migration's header).
  perform private.check_argument(checkout_session_order.issued_by_checkout is true,
    format('Checkout Session %s was not created by our checkout (metadata.checkout_proof is missing or does not verify)',
      v_session_id));
  select t.* into v_tier_row from public.tiers t where t.name = v_tier;
  perform private.check_argument(found, format('metadata.tier %L is not a package', v_tier));
  perform private.check_argument(v_intent is null or v_intent like 'pi\_%',
    'payment_intent must be a PaymentIntent id (pi_…)');
  perform private.check_argument(
    jsonb_typeof(checkout_session_order.session -> 'amount_total') is distinct from 'string'
      and coalesce((checkout_session_order.session ->> 'amount_total')::numeric, 0) >= 0,
    'amount_total must be a non-negative integer');
  v_amount := (checkout_session_order.session ->> 'amount_total')::int;
  -- What was paid must be the package's price, exactly: our checkout offers no promotion
  -- codes or discounts, so any other amount or currency (a coupon, another price, a session
  -- edited by someone holding a Stripe key) is refused rather than sold at that price.
  perform private.check_argument(v_currency is not distinct from v_tier_row.price_currency,
    format('currency %s is not the %s package''s currency %s', coalesce(v_currency, '(none)'),
      v_tier, v_tier_row.price_currency));
  perform private.check_argument(v_amount is not distinct from v_tier_row.price_amount,
    format('amount_total %s is not the %s package''s price %s %s', coalesce(v_amount::text, '(none)'),
      v_tier, v_tier_row.price_amount, v_tier_row.price_currency));

  perform private.lock_payment_intent(v_intent);
  v_customer := private.customer_for_email(coalesce(
    checkout_session_order.session -> 'customer_details' ->> 'email',
    checkout_session_order.session ->> 'customer_email'));

  select o.* into v_order from public.orders o
   where o.stripe_checkout_session_id = v_session_id for update;
  if not found then
    v_new_id := gen_random_uuid();
    v_status := checkout_session_order.target;
    if v_status = 'paid' then
      v_status := private.take_remembered_reversals(v_intent, v_status, v_new_id,
        checkout_session_order.actor);
    end if;
    insert into public.orders as o (id, customer_id, tier, status, stripe_checkout_session_id,
                                    stripe_payment_intent_id, amount_total, currency, paid_at)
    values (v_new_id, v_customer, v_tier, v_status, v_session_id, v_intent, v_amount, v_currency,
            case when checkout_session_order.target = 'paid' then now() end)
    on conflict (stripe_checkout_session_id) do nothing
    returning o.* into v_order;
    if v_order.id is not null then
      perform private.audit(checkout_session_order.actor, 'order.created', null, null, null,
        v_order.status::text, jsonb_build_object('order_id', v_order.id, 'tier', v_tier,
          'stripe_checkout_session_id', v_session_id));
      return jsonb_build_object('outcome', 'order_' || v_order.status::text, 'order_id', v_order.id);
    end if;
    -- Another event for the same session inserted it meanwhile (the insert waited for it to
    -- commit; any remembered reversal was taken by it, under the reversal rows' locks).
    select o.* into v_order from public.orders o
     where o.stripe_checkout_session_id = v_session_id for update;
  end if;

  v_from := v_order.status;
  if v_from = checkout_session_order.target then
    v_outcome := 'order_already_' || v_from::text;
  elsif v_from = 'pending' and checkout_session_order.target in ('paid', 'payment_failed') then
    v_intent := coalesce(v_order.stripe_payment_intent_id, v_intent);
    v_status := checkout_session_order.target;
    if v_status = 'paid' then
      v_status := private.take_remembered_reversals(v_intent, v_status, v_order.id,
        checkout_session_order.actor);
    end if;
    update public.orders o
       set status = v_status,
           paid_at = case when checkout_session_order.target = 'paid' then now() else o.paid_at end,
           stripe_payment_intent_id = v_intent,
           amount_total = coalesce(v_amount, o.amount_total),
           currency = coalesce(v_currency, o.currency)
     where o.id = v_order.id
    returning o.* into v_order;
    perform private.audit(checkout_session_order.actor, 'order.' || v_order.status::text, null,
      null, v_from::text, v_order.status::text, jsonb_build_object('order_id', v_order.id));
    v_outcome := 'order_' || v_order.status::text;
  else
    -- e.g. a completed (unpaid) event arriving after the payment already succeeded or failed,
    -- or after a refund: the later state stands.
    v_outcome := format('order_stays_%s', v_from);
  end if;
  return jsonb_build_object('outcome', v_outcome, 'order_id', v_order.id);
end;
$$;
revoke all on function private.checkout_session_order(jsonb, public.order_status, text, boolean)
  from public, anon, authenticated;

-- The one call the webhook makes per verified event; issued_by_checkout is the webhook's check
-- of metadata.checkout_proof (false for anything that is not a checkout session of ours).
-- Records the event once; a replay of an applied event changes nothing and answers duplicate
-- = true. Unknown types are recorded and acknowledged. A refused event (DB005 or a broken
-- constraint) is recorded with its error and left unprocessed rather than lost.
create function public.stripe_events_apply(event jsonb, issued_by_checkout boolean) returns jsonb
language plpgsql security definer set search_path = ''
as $$
declare
  v_id text := stripe_events_apply.event ->> 'id';
  v_type text := stripe_events_apply.event ->> 'type';
  v_object jsonb := stripe_events_apply.event -> 'data' -> 'object';
  v_actor text;
  v_existing public.stripe_events;
  v_result jsonb;
  v_error text;
begin
  perform private.check_argument(coalesce(v_id, '') like 'evt\_%', 'id must be an event id (evt_…)');
  perform private.check_argument(btrim(coalesce(v_type, '')) <> '', 'type is required');
  perform private.check_argument(jsonb_typeof(v_object) = 'object', 'data.object is required');
  v_actor := 'stripe:' || v_id;

  insert into public.stripe_events as e (id, type, payload)
  values (v_id, v_type, stripe_events_apply.event)
  on conflict (id) do nothing;
  if not found then
    -- Concurrent deliveries of one event queue on this lock; the loser sees it processed.
    select e.* into v_existing from public.stripe_events e where e.id = v_id for update;
    if v_existing.processed_at is not null then
      return jsonb_build_object('event_id', v_id, 'type', v_type, 'duplicate', true,
        'outcome', v_existing.outcome);
    end if;
  end if;

  begin
    v_result := case
      when v_type in ('checkout.session.completed', 'checkout.session.async_payment_succeeded') then
        private.checkout_session_order(v_object,
          case when v_object ->> 'payment_status' in ('paid', 'no_payment_required')
               then 'paid' else 'pending' end::public.order_status, v_actor,
          stripe_events_apply.issued_by_checkout)
      when v_type = 'checkout.session.async_payment_failed' then
        private.checkout_session_order(v_object, 'payment_failed', v_actor,
          stripe_events_apply.issued_by_checkout)
      when v_type = 'charge.refunded' then
        case when coalesce((v_object ->> 'refunded')::boolean, false)
             then private.reverse_payment(v_object ->> 'payment_intent', 'refunded', v_id, v_actor)
             -- A partial refund is a goodwill gesture, not a cancelled order.
             else jsonb_build_object('outcome', 'partial_refund_noted') end
      when v_type = 'charge.dispute.created' then
        private.reverse_payment(v_object ->> 'payment_intent', 'disputed', v_id, v_actor)
      else jsonb_build_object('outcome', 'ignored_unknown_type')
    end;
  exception
    when sqlstate 'DB005' or check_violation or not_null_violation or foreign_key_violation
         or invalid_text_representation or numeric_value_out_of_range then
      get stacked diagnostics v_error = message_text;
      update public.stripe_events e
         set error = v_error, outcome = 'rejected', payload = stripe_events_apply.event
       where e.id = v_id;
      -- Staff see it on the dashboard: raised already cleared (nothing stays "ongoing"), so
      -- it waits there until someone acknowledges it, as a passed database outage does.
      insert into public.alerts (kind, message, details, cleared_at)
      values ('stripe_event_rejected',
              format('Stripe event %s (%s) was refused: %s', v_id, v_type, v_error),
              jsonb_build_object('event_id', v_id, 'type', v_type, 'error', v_error), now());
      return jsonb_build_object('event_id', v_id, 'type', v_type, 'duplicate', false,
        'outcome', 'rejected', 'error', v_error);
  end;

  update public.stripe_events e
     set processed_at = now(), outcome = v_result ->> 'outcome', error = null
   where e.id = v_id;
  return jsonb_build_object('event_id', v_id, 'type', v_type, 'duplicate', false) || v_result;
end;
$$;
revoke all on function public.stripe_events_apply(jsonb, boolean) from public, anon, authenticated;
grant execute on function public.stripe_events_apply(jsonb, boolean) to service_role;

-- For callers that do not verify checkout proofs (scripts, older webhooks): every checkout
-- session is treated as not ours, so it is refused and kept, never turned into an order.
create function public.stripe_events_apply(event jsonb) returns jsonb
language sql security definer set search_path = ''
as $$
  select public.stripe_events_apply(stripe_events_apply.event, false)
$$;
revoke all on function public.stripe_events_apply(jsonb) from public, anon, authenticated;
grant execute on function public.stripe_events_apply(jsonb) to service_role;

-- The Checkout Sessions the portal started (its POST /checkout records the id the checkout
-- function answered). The onboarding page asks Stripe only about these, so a visitor cannot
-- make the portal query Stripe with ids it never issued.
create table public.checkout_sessions (
  id text primary key check (id ~ '^cs_[A-Za-z0-9_]{1,250}$'),
  tier text not null references public.tiers (name),
  created_at timestamptz not null default now()
);
comment on table public.checkout_sessions is
  'Checkout Sessions started through the portal, so onboarding looks up only sessions the site issued. Service role only, through checkout_sessions_record / checkout_sessions_issued.';
alter table public.checkout_sessions enable row level security;
revoke all on table public.checkout_sessions from anon, authenticated;
-- No policies: only the service role (which bypasses RLS) reaches it, through the functions.

-- Idempotent: the same id recorded twice is one row.
create function public.checkout_sessions_record(session_id text, tier text) returns void
language plpgsql security definer set search_path = ''
as $$
begin
  perform private.check_argument(coalesce(checkout_sessions_record.session_id, '') ~ '^cs_[A-Za-z0-9_]{1,250}$',
    'session_id must be a Checkout Session id (cs_…)');
  perform private.check_argument(exists (select 1 from public.tiers t where t.name = checkout_sessions_record.tier),
    format('tier %L is not a package', checkout_sessions_record.tier));
  insert into public.checkout_sessions (id, tier)
  values (checkout_sessions_record.session_id, checkout_sessions_record.tier)
  on conflict (id) do nothing;
end;
$$;
revoke all on function public.checkout_sessions_record(text, text) from public, anon, authenticated;
grant execute on function public.checkout_sessions_record(text, text) to service_role;

-- Whether the site issued this session id: the portal started it, or an order already carries
-- it (a session started by calling the checkout function directly, once its webhook landed).
create function public.checkout_sessions_issued(session_id text) returns boolean
language sql stable security definer set search_path = ''
as $$
  select exists (select 1 from public.checkout_sessions s where s.id = checkout_sessions_issued.session_id)
      or exists (select 1 from public.orders o
                  where o.stripe_checkout_session_id = checkout_sessions_issued.session_id)
$$;
revoke all on function public.checkout_sessions_issued(text) from public, anon, authenticated;
grant execute on function public.checkout_sessions_issued(text) to service_role;
