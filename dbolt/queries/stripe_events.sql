-- Stripe webhook events (webhook/). One call per verified event: stripe_events_apply records
-- the event id once and applies its effect in the same transaction.

-- name: stripe_events_apply
-- issued_by_checkout: the receiver's check of metadata.checkout_proof (dbolt/checkout_proof.py);
-- the database refuses a checkout session without it, and one not paid at the tier's price.
select public.stripe_events_apply(%(event)s::jsonb, %(issued_by_checkout)s::boolean) as result;
