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

-- name: shortfall_refunds_list_recent
-- The staff overview's shortfalls, under the staff user's JWT (RLS: staff read every row):
-- the newest jobs that completed short of their package, with the refund's state, and the
-- totals over all of them.
select r.job_id, r.order_id, r.promised, r.delivered, r.in_hand, r.shortfall, r.amount,
       r.currency, r.created_at, r.attempts, r.last_error, r.stripe_refund_id,
       r.refunded_amount, r.refunded_at, r.dead_at,
       case when r.refunded_at is not null then 'refunded'
            when r.dead_at is not null then 'refund failed'
            when r.amount = 0 then 'nothing to refund'
            else 'refund owed' end as refund_state,
       j.business_snapshot ->> 'business_name' as business_name, j.tier,
       count(*) over () as total,
       count(*) filter (where r.dead_at is not null) over () as failed_refunds
  from shortfall_refunds r
  join jobs j on j.id = r.job_id
 order by r.created_at desc, r.id desc
 limit %(limit)s;
