-- Why: the orchestrator's refresh (queue_stats_with_health, every few seconds) counted the
-- emails given up on and the Stripe events refused by reading every notification and event
-- ever written: a cost that grows with every order of the year (bench/scale, issue 16). Both
-- sets are small and stay small; partial indexes hold just them.
create index notifications_dead_idx on public.notifications (id) where dead_at is not null;
create index stripe_events_rejected_idx on public.stripe_events (id)
  where processed_at is null and error is not null;
