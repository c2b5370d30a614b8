-- Why: Stripe delivers at least once and out of order; recording each event id once makes
-- a replay a no-op.

create table public.stripe_events (
  id text primary key check (id like 'evt_%'),
  type text not null,
  payload jsonb not null,
  received_at timestamptz not null default now(),
  processed_at timestamptz
);
comment on table public.stripe_events is
  'Every Stripe webhook event received, once per event id (idempotency). Service role only.';

alter table public.stripe_events enable row level security;
-- No policies: only the service role (which bypasses RLS) reads or writes it.
