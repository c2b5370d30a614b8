-- Each customer's campaign mailbox (local_part @ MAILBOX_DOMAIN), made with their first job.

-- name: customer_mailboxes_get_own
select m.local_part, m.created_at
  from customer_mailboxes m
  join customers c on c.id = m.customer_id
 where c.user_id = %(user_id)s;
