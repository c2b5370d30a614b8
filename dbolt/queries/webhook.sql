-- Stripe webhook receiver (webhook/). One call per verified event: stripe_events_apply records
-- the event id once and applies its effect in the same transaction.

-- name: webhook_apply_event
-- issued_by_checkout: the receiver's check of metadata.checkout_proof (dbolt/checkout_proof.py);
-- the database refuses a checkout session without it, and one not paid at the tier's price.
select public.stripe_events_apply(%(event)s::jsonb, %(issued_by_checkout)s::boolean) as result;

-- name: webhook_health
select 1 as ok;
