-- Stripe webhook receiver (webhook/). One call per verified event: stripe_events_apply records
-- the event id once and applies its effect in the same transaction.

-- name: webhook_apply_event
select public.stripe_events_apply(%(event)s::jsonb) as result;

-- name: webhook_health
select 1 as ok;
