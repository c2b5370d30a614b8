-- The email outbox (webhook/notifier.py): claim with a lease, settle each message once.

-- name: notifications_claim_due
select n.id, n.kind::text as kind, n.recipient, n.customer_id, n.order_id, n.job_id, n.payload,
       n.attempts, n.claim_token
  from public.notifications_claim(batch_size => %(batch_size)s, lease_seconds => %(lease_seconds)s) n;

-- name: notifications_settle_sent
select id, sent_at from public.notifications_mark_sent(id => %(id)s, claim_token => %(claim_token)s);

-- name: notifications_settle_skipped
select id, skipped_reason
  from public.notifications_mark_skipped(id => %(id)s, claim_token => %(claim_token)s,
                                         reason => %(reason)s);

-- name: notifications_settle_failed
select id, attempts, send_after, dead_at
  from public.notifications_mark_failed(id => %(id)s, claim_token => %(claim_token)s,
                                        error => %(error)s,
                                        retry_base_seconds => %(retry_base_seconds)s,
                                        max_attempts => %(max_attempts)s);

-- name: notifications_skip_stale
select id, kind, order_id, job_id, created_at
  from public.notifications_skip_stale(stale_after_seconds => %(stale_after_seconds)s);

-- name: notifications_queue_reminders
select queued, stale
  from public.notifications_enqueue_reminders(remind_after_seconds => %(remind_after_seconds)s,
                                              max_reminders => %(max_reminders)s,
                                              stale_after_seconds => %(stale_after_seconds)s);
