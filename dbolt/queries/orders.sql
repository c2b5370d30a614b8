-- Orders: the customer's own (under their JWT; RLS hides other customers' orders, and the user
-- id holds staff, whom RLS lets read every order, to their own on the customer's pages), the
-- onboarding page's (service role: the Checkout Session id is its caller's only credential,
-- before anyone is signed in) and the payment email's.

-- name: orders_get_own
select o.id, o.tier, o.status, o.paid_at, o.created_at, t.directory_limit,
       j.id as job_id, j.status as job_status
  from orders o
  join customers c on c.id = o.customer_id
  join tiers t on t.name = o.tier
  left join jobs j on j.order_id = o.id
 where o.id = %(order_id)s and c.user_id = %(user_id)s;

-- name: orders_list_own
select o.id, o.tier, o.status, o.amount_total, o.currency, o.paid_at, o.created_at,
       t.directory_limit,
       j.id as job_id, j.status as job_status, j.created_at as job_created_at,
       j.completed_at as job_completed_at,
       (select count(*) from job_directories d where d.job_id = j.id) as directories,
       (select count(*) from job_directories d
         where d.job_id = j.id and d.status not in ('queued', 'in_progress', 'waiting')) as directories_done,
       -- The refund for what the job did not deliver (shortfall_refunds), once owed: summed
       -- over the order's settlements, refunded only once every one is.
       r.amount as shortfall_refund_owed, r.refunded_amount as shortfall_refunded
  from orders o
  join customers c on c.id = o.customer_id
  join tiers t on t.name = o.tier
  left join jobs j on j.order_id = o.id
  left join lateral (
    select sum(s.amount)::int as amount,
           case when bool_and(s.refunded_at is not null) then sum(s.refunded_amount)::int end
             as refunded_amount
      from shortfall_refunds s
     where s.order_id = o.id
    having count(*) > 0
  ) r on true
 where c.user_id = %(user_id)s
 order by o.created_at desc, o.id;

-- name: orders_onboarding_status
-- Service role.
select order_id, status, linked, signed_in_at, created_at
  from orders_onboarding_status(checkout_session_id => %(session_id)s);

-- name: orders_claim_onboarding_sign_in
-- Service role.
select order_id, user_id, email
  from orders_claim_onboarding_sign_in(checkout_session_id => %(session_id)s,
                                       window_seconds => %(window_seconds)s);

-- name: orders_get_for_notification
-- What the payment-received email says (webhook/notifier.py): the order as it is now.
select o.id as order_id, o.status::text as status, o.tier, o.amount_total, o.currency,
       t.directory_limit, t.directories_today, c.id as customer_id, c.email, c.user_id
  from public.orders o
  join public.customers c on c.id = o.customer_id
  join public.tiers_on_offer() t on t.name = o.tier
 where o.id = %(order_id)s;
