-- The shortfall refunds outbox (webhook/refunder.py): claim with a lease, settle each once.
-- Run as the service role.

-- name: shortfall_refunds_claim_due
select r.id, r.order_id, r.job_id, r.amount, r.currency, r.payment_intent, r.idempotency_key,
       r.attempts, r.claim_token
  from public.shortfall_refunds_claim(batch_size => %(batch_size)s, lease_seconds => %(lease_seconds)s) r;

-- name: shortfall_refunds_settle_refunded
select id, stripe_refund_id, refunded_amount, refunded_at
  from public.shortfall_refunds_mark_refunded(id => %(id)s, claim_token => %(claim_token)s,
                                              stripe_refund_id => %(stripe_refund_id)s,
                                              amount => %(amount)s);

-- name: shortfall_refunds_settle_failed
select id, attempts, send_after, dead_at
  from public.shortfall_refunds_mark_failed(id => %(id)s, claim_token => %(claim_token)s,
                                            error => %(error)s,
                                            retry_base_seconds => %(retry_base_seconds)s,
                                            max_attempts => %(max_attempts)s);
