-- Reminder opt-outs (migration 20261207000200). Run as the service role: by the webhook's
-- notifier, and by the portal's unsubscribe page for whoever holds a link (no sign-in).

-- name: email_opt_outs_get
-- Whether the customer stopped this kind of mail (the notifier skips it if so).
select o.customer_id, o.list, o.opted_out_at
  from public.email_opt_outs o
 where o.customer_id = %(customer_id)s and o.list = %(list)s;

-- name: email_opt_outs_unsubscribe
select u.list, u.opted_out_at, u.already
  from public.email_opt_outs_unsubscribe(token => %(token)s) u;
