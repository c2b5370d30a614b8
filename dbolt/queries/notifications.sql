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

-- name: notifications_queue_reminders
select public.notifications_enqueue_reminders(remind_after_seconds => %(remind_after_seconds)s,
                                              max_reminders => %(max_reminders)s) as queued;

-- name: notifications_link_customer
select (public.customers_link_user(customer_id => %(customer_id)s, user_id => %(user_id)s)).user_id;

-- What the payment-received email says: the order as it is now.
-- name: notifications_order_context
select o.id as order_id, o.status::text as status, o.tier, o.amount_total, o.currency,
       t.directory_limit, c.id as customer_id, c.email, c.user_id
  from public.orders o
  join public.customers c on c.id = o.customer_id
  join public.tiers t on t.name = o.tier
 where o.id = %(order_id)s;

-- What a job email says: the job as it is now, its counts and what needs the customer.
-- name: notifications_job_context
select j.id as job_id, j.status::text as status, j.tier,
       coalesce(j.business_snapshot ->> 'business_name', 'your business') as business_name,
       (select count(*) from public.job_directories d where d.job_id = j.id) as directories,
       (select count(*) from public.job_directories d
         where d.job_id = j.id and d.status in ('submitted', 'live')) as submitted,
       (select count(*) from public.job_directories d
         where d.job_id = j.id and d.status = 'failed') as failed,
       (select coalesce(jsonb_agg(jsonb_build_object('directory', coalesce(dir.name, d.directory_id),
                                                     'action', d.action_required)
                                  order by d.position), '[]')
          from public.job_directories d
          left join public.directories dir on dir.id = d.directory_id
         where d.job_id = j.id and d.status = 'needs_action') as needs_action
  from public.jobs j
 where j.id = %(job_id)s;
