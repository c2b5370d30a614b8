-- Why: what a customer bought. A job is created from a paid order only; the Stripe ids
-- make the webhook's work idempotent and let refunds find their order.

create type public.order_status as enum ('pending', 'paid', 'payment_failed', 'refunded', 'disputed');

create table public.orders (
  id uuid primary key default gen_random_uuid(),
  customer_id uuid not null references public.customers (id),
  tier text not null references public.tiers (name),
  status public.order_status not null default 'pending',
  stripe_checkout_session_id text unique,
  stripe_payment_intent_id text unique,
  amount_total int check (amount_total >= 0),
  currency text check (currency ~ '^[a-z]{3}$'),
  paid_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint orders_paid_have_paid_at check (status <> 'paid' or paid_at is not null)
);
comment on table public.orders is
  'A package purchase. Created by the Stripe webhook; only a paid order can be enqueued as a job.';
create index orders_customer_id_idx on public.orders (customer_id);

create trigger orders_touch_updated_at before update on public.orders
  for each row execute function private.touch_updated_at();

alter table public.orders enable row level security;
grant select on public.orders to authenticated;

create policy "customers can read their own orders"
  on public.orders for select to authenticated
  using (customer_id = (select private.current_customer_id()) or (select private.is_staff()));
