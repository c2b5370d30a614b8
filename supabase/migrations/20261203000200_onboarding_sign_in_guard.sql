-- Why: Stripe never verifies the email address typed on its checkout page, and the webhook
-- files an order under that address's existing Auth user. The one-time sign-in on return
-- from checkout therefore let anyone who paid sign in as any existing user, staff included
-- (issue 10, critical 1). The database now refuses that sign-in unless the account is this
-- very purchase's own: the Auth user was created at or after the order was recorded, has
-- never signed in, carries no role (not staff, not a worker), and its customer was created
-- by this order and has no earlier one. Every other buyer is told to use the emailed link or
-- code, which reaches only the address's real owner.

create or replace function public.orders_claim_onboarding_sign_in(checkout_session_id text, window_seconds int)
returns table (order_id uuid, user_id uuid, email text)
language plpgsql security definer set search_path = ''
as $$
declare
  v_order public.orders;
  v_customer public.customers;
  v_user auth.users;
begin
  perform private.check_argument(orders_claim_onboarding_sign_in.window_seconds between 1 and 86400,
    'window_seconds must be between 1 and 86400');
  select o.* into v_order from public.orders o
   where o.stripe_checkout_session_id = orders_claim_onboarding_sign_in.checkout_session_id
     for update;
  if not found then
    raise exception 'no order for checkout session %', orders_claim_onboarding_sign_in.checkout_session_id
      using errcode = 'DB003';
  end if;
  select c.* into v_customer from public.customers c where c.id = v_order.customer_id;
  if v_order.status <> 'paid' then
    raise exception 'order % is %, not paid', v_order.id, v_order.status using errcode = 'DB002';
  end if;
  if v_customer.user_id is null then
    raise exception 'order % has no account yet', v_order.id using errcode = 'DB002';
  end if;
  if v_order.onboarding_signed_in_at is not null then
    raise exception 'order % already used its onboarding sign-in', v_order.id using errcode = 'DB002';
  end if;
  if v_order.created_at < now() - make_interval(secs => orders_claim_onboarding_sign_in.window_seconds) then
    raise exception 'order % onboarding sign-in window has passed', v_order.id using errcode = 'DB002';
  end if;

  -- Not locked: the caller signs in at Auth while this transaction is open, and Auth writes
  -- last_sign_in_at on this very row from its own connection.
  select u.* into v_user from auth.users u where u.id = v_customer.user_id;
  if not found or v_user.deleted_at is not null then
    raise exception 'order % account is gone', v_order.id using errcode = 'DB002';
  end if;
  -- A role in app_metadata (staff, worker) is never handed out by a purchase.
  if coalesce(v_user.raw_app_meta_data, '{}'::jsonb) ? 'role' then
    raise exception 'order % account has a role', v_order.id using errcode = 'DB002';
  end if;
  -- Somebody has already proved they own this address: they sign in the same way again.
  if v_user.last_sign_in_at is not null then
    raise exception 'order % account has signed in before', v_order.id using errcode = 'DB002';
  end if;
  -- The account, and the customer, must have been made for this order: an address that had
  -- an account or a customer row before the order was recorded belongs to somebody who may
  -- not be the buyer. (The notifier may ask Auth for a link more than once; what it asks for
  -- does not matter, only when the account came to exist.)
  if v_user.created_at < v_order.created_at or v_customer.created_at < v_order.created_at then
    raise exception 'order % account existed before the order', v_order.id using errcode = 'DB002';
  end if;
  if exists (select 1 from public.orders o
              where o.customer_id = v_order.customer_id and o.id <> v_order.id
                and o.created_at <= v_order.created_at) then
    raise exception 'order % customer has an earlier order', v_order.id using errcode = 'DB002';
  end if;

  update public.orders o set onboarding_signed_in_at = now() where o.id = v_order.id;
  perform private.audit('user:' || v_customer.user_id::text, 'order.onboarding_signed_in', null,
    null, null, null, jsonb_build_object('order_id', v_order.id));
  return query select v_order.id, v_customer.user_id, v_customer.email;
end;
$$;
revoke all on function public.orders_claim_onboarding_sign_in(text, int) from public, anon, authenticated;
grant execute on function public.orders_claim_onboarding_sign_in(text, int) to service_role;
