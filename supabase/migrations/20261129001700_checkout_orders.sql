-- Why: Stripe delivers events at least once, concurrently and out of order, and each one must
-- change our records exactly once. stripe_events_apply records the event id and applies its
-- effect (customer, order, refund, dispute, job cancellation) in ONE transaction, so a replay
-- or a crash halfway can never leave an order without its event or an event half-applied.
-- A refund or dispute that arrives before its checkout.session.completed is remembered
-- against its payment intent and applied when the order appears.

-- What stripe_events_apply concluded for each event (shown to staff, kept for audits), and
-- the reason an event was refused (e.g. no tier in its metadata): a refused event stays
-- unprocessed, is never silently dropped, and is applied again if Stripe resends it.
alter table public.stripe_events add column outcome text;
alter table public.stripe_events add column error text;
comment on column public.stripe_events.outcome is
  'What applying the event did (order_paid, refund_remembered, ignored_unknown_type, …).';
comment on column public.stripe_events.error is
  'Why the event could not be applied; processed_at stays null until a resend succeeds.';

create table public.payment_reversals (
  payment_intent_id text not null check (payment_intent_id like 'pi_%'),
  kind public.order_status not null check (kind in ('refunded', 'disputed')),
  stripe_event_id text not null references public.stripe_events (id),
  created_at timestamptz not null default now(),
  applied_at timestamptz,
  primary key (payment_intent_id, kind)
);
comment on table public.payment_reversals is
  'Refunds and disputes per Stripe payment intent, kept even when they arrive before the order exists so a late checkout.session.completed still ends refunded/disputed. Service role only.';

alter table public.payment_reversals enable row level security;
-- No policies: only the service role (which bypasses RLS) reads or writes it.

-- Serialises everything that concerns one payment intent (its checkout and its refunds or
-- disputes): without it a refund could look for the order while the checkout that creates
-- it is still uncommitted, remember itself, and never be applied. Always taken before any
-- row lock, so it cannot deadlock with jobs_enqueue (which locks the order only).
create function private.lock_payment_intent(payment_intent_id text) returns void
language sql set search_path = ''
as $$
  select pg_catalog.pg_advisory_xact_lock(
    pg_catalog.hashtextextended('stripe.payment_intent:' || $1, 0))
  where $1 is not null;
$$;

-- The customer for a buyer's email, created on first purchase. user_id stays null until the
-- webhook's notifier has found or created the Auth user (customers_link_user).
create function private.customer_for_email(email text) returns uuid
language plpgsql set search_path = ''
as $$
declare
  v_email text := lower(btrim(coalesce(customer_for_email.email, '')));
  v_id uuid;
begin
  perform private.check_argument(v_email like '%_@_%',
    'customer_details.email is required and must be an email address');
  insert into public.customers as c (email) values (v_email)
  on conflict on constraint customers_email_key do nothing
  returning c.id into v_id;
  if v_id is null then
    select c.id into v_id from public.customers c where c.email = v_email;
  end if;
  return v_id;
end;
$$;

-- The order status a reversal leaves behind: a refund outranks a dispute (the money is gone
-- either way, and a refund is final), and neither touches an order whose payment failed.
create function private.reversed_status(current_status public.order_status, kind public.order_status)
returns public.order_status
language sql immutable set search_path = ''
as $$
  select case
    when current_status in ('payment_failed', 'refunded') then current_status
    when kind = 'refunded' then 'refunded'::public.order_status
    when current_status = 'disputed' then current_status
    else kind
  end
$$;

-- Cancels the order's job unless it is already final; a complete job stays complete (the
-- customer got what they paid for, the order is still marked).
create function private.cancel_job_for_order(order_id uuid, actor text) returns text
language plpgsql set search_path = ''
as $$
declare
  v_job public.jobs;
begin
  select j.* into v_job from public.jobs j where j.order_id = cancel_job_for_order.order_id;
  if not found then
    return 'no_job';
  end if;
  if v_job.status in ('complete', 'failed', 'cancelled') then
    return 'job_' || v_job.status::text;
  end if;
  perform public.jobs_cancel(v_job.id, cancel_job_for_order.actor);
  return 'job_cancelled';
end;
$$;

-- The status an order of this payment intent ends in once the reversals remembered for it
-- (refunds or disputes that arrived before the order was paid) are applied; marks them
-- applied and audits each change. Called BEFORE the order row is written, so an order is
-- never paid for an instant (no payment email, no job) when its refund is already known.
create function private.take_remembered_reversals(
  payment_intent_id text, status public.order_status, order_id uuid, actor text
) returns public.order_status
language plpgsql set search_path = ''
as $$
declare
  v_status public.order_status := take_remembered_reversals.status;
  v_reversal public.payment_reversals;
  v_to public.order_status;
begin
  if take_remembered_reversals.payment_intent_id is null then
    return v_status;
  end if;
  for v_reversal in
    select r.* from public.payment_reversals r
     where r.payment_intent_id = take_remembered_reversals.payment_intent_id
       and r.applied_at is null
     order by r.created_at, r.kind
       for update
  loop
    v_to := private.reversed_status(v_status, v_reversal.kind);
    if v_to <> v_status then
      perform private.audit(take_remembered_reversals.actor, 'order.' || v_to::text, null, null,
        v_status::text, v_to::text, jsonb_build_object('order_id', take_remembered_reversals.order_id,
          'stripe_event_id', v_reversal.stripe_event_id, 'arrived_before_payment', true));
      v_status := v_to;
    end if;
    update public.payment_reversals r set applied_at = now()
     where r.payment_intent_id = v_reversal.payment_intent_id and r.kind = v_reversal.kind;
  end loop;
  return v_status;
end;
$$;

-- checkout.session.completed / async_payment_succeeded / async_payment_failed: the order for
-- this Checkout Session, created on first sight and moved towards `target`. Idempotent per
-- session id; the order's own row lock serialises concurrent events for one session.
create function private.checkout_session_order(
  session jsonb, target public.order_status, actor text
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
begin
  perform private.check_argument(coalesce(v_session_id, '') like 'cs\_%',
    'data.object.id must be a Checkout Session id (cs_…)');
  perform private.check_argument(v_tier is not null, 'metadata.tier is required on the Checkout Session');
  perform private.check_argument(exists (select 1 from public.tiers t where t.name = v_tier),
    format('metadata.tier %L is not a package', v_tier));
  perform private.check_argument(v_intent is null or v_intent like 'pi\_%',
    'payment_intent must be a PaymentIntent id (pi_…)');
  perform private.check_argument(
    jsonb_typeof(checkout_session_order.session -> 'amount_total') is distinct from 'string'
      and coalesce((checkout_session_order.session ->> 'amount_total')::numeric, 0) >= 0,
    'amount_total must be a non-negative integer');
  v_amount := (checkout_session_order.session ->> 'amount_total')::int;

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

-- charge.refunded / charge.dispute.created carry the payment intent, not the session: the
-- order is found by it, or the reversal is remembered until the order appears.
create function private.reverse_payment(
  payment_intent_id text, kind public.order_status, event_id text, actor text
) returns jsonb
language plpgsql set search_path = ''
as $$
declare
  v_order public.orders;
  v_to public.order_status;
  v_job_outcome text;
begin
  perform private.check_argument(coalesce(reverse_payment.payment_intent_id, '') like 'pi\_%',
    'data.object.payment_intent must be a PaymentIntent id (pi_…)');
  perform private.lock_payment_intent(reverse_payment.payment_intent_id);
  select o.* into v_order from public.orders o
   where o.stripe_payment_intent_id = reverse_payment.payment_intent_id for update;
  if not found then
    insert into public.payment_reversals (payment_intent_id, kind, stripe_event_id)
    values (reverse_payment.payment_intent_id, reverse_payment.kind, reverse_payment.event_id)
    on conflict on constraint payment_reversals_pkey do nothing;
    return jsonb_build_object('outcome', reverse_payment.kind::text || '_remembered');
  end if;

  -- Kept (already applied) so the record shows every reversal an order had.
  insert into public.payment_reversals (payment_intent_id, kind, stripe_event_id, applied_at)
  values (reverse_payment.payment_intent_id, reverse_payment.kind, reverse_payment.event_id, now())
  on conflict on constraint payment_reversals_pkey do nothing;

  v_to := private.reversed_status(v_order.status, reverse_payment.kind);
  if v_to <> v_order.status then
    update public.orders o set status = v_to where o.id = v_order.id returning o.* into v_order;
    perform private.audit(reverse_payment.actor, 'order.' || v_to::text, null, null, null,
      v_to::text, jsonb_build_object('order_id', v_order.id));
  end if;
  if v_order.status in ('refunded', 'disputed') then
    v_job_outcome := private.cancel_job_for_order(v_order.id, reverse_payment.actor);
  end if;
  return jsonb_strip_nulls(jsonb_build_object('outcome', 'order_' || v_order.status::text,
    'order_id', v_order.id, 'job', v_job_outcome));
end;
$$;

-- The one call the webhook makes per verified event. Records the event once; a replay of an
-- applied event changes nothing and answers duplicate = true. Unknown types are recorded
-- and acknowledged. A refused event (DB005 or a broken constraint) is recorded with its error
-- and left unprocessed rather than lost; the same event sent again is tried again.
create function public.stripe_events_apply(event jsonb) returns jsonb
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
               then 'paid' else 'pending' end::public.order_status, v_actor)
      when v_type = 'checkout.session.async_payment_failed' then
        private.checkout_session_order(v_object, 'payment_failed', v_actor)
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
      return jsonb_build_object('event_id', v_id, 'type', v_type, 'duplicate', false,
        'outcome', 'rejected', 'error', v_error);
  end;

  update public.stripe_events e
     set processed_at = now(), outcome = v_result ->> 'outcome', error = null
   where e.id = v_id;
  return jsonb_build_object('event_id', v_id, 'type', v_type, 'duplicate', false) || v_result;
end;
$$;
revoke execute on function public.stripe_events_apply(jsonb) from public;
grant execute on function public.stripe_events_apply(jsonb) to service_role;

-- Links the customer to the Auth user the webhook found or created for the same address.
-- Idempotent; a customer already linked to someone else, or an address that does not match,
-- is refused.
create function public.customers_link_user(customer_id uuid, user_id uuid) returns public.customers
language plpgsql security definer set search_path = ''
as $$
declare
  v_customer public.customers;
  v_user_email text;
begin
  perform private.check_argument(customers_link_user.user_id is not null, 'user_id is required');
  select c.* into v_customer from public.customers c
   where c.id = customers_link_user.customer_id for update;
  if not found then
    raise exception 'customer % not found', customers_link_user.customer_id using errcode = 'DB003';
  end if;
  select lower(u.email) into v_user_email from auth.users u where u.id = customers_link_user.user_id;
  if not found then
    raise exception 'auth user % not found', customers_link_user.user_id using errcode = 'DB003';
  end if;
  if v_user_email is distinct from v_customer.email then
    raise exception 'user_id % belongs to another email address than customer %',
      customers_link_user.user_id, v_customer.id using errcode = 'DB005';
  end if;
  if v_customer.user_id = customers_link_user.user_id then
    return v_customer;
  end if;
  if v_customer.user_id is not null then
    raise exception 'customer % is already linked to another user', v_customer.id
      using errcode = 'DB002';
  end if;
  update public.customers c set user_id = customers_link_user.user_id
   where c.id = v_customer.id returning c.* into v_customer;
  perform private.audit('webhook', 'customer.linked', null, null, null, null,
    jsonb_build_object('customer_id', v_customer.id, 'user_id', v_customer.user_id));
  return v_customer;
end;
$$;
revoke execute on function public.customers_link_user(uuid, uuid) from public;
grant execute on function public.customers_link_user(uuid, uuid) to service_role;
