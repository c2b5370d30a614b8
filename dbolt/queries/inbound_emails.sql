-- Mail to the customers' campaign mailboxes (webhook/inbound_mail.py).

-- name: inbound_emails_receive
-- Service role: one call per verified delivery; stores it once per (provider, message id),
-- matches it to the directory waiting for it and wakes its job. Returns jsonb (id, duplicate,
-- matched, job_id, directory_id, woken).
select public.inbound_emails_receive(
  %(provider)s, %(provider_message_id)s, %(recipient_local_part)s, %(sender)s, %(subject)s,
  %(body_text)s, %(body_html)s, %(token)s
) as result;

-- name: inbound_emails_list_own
-- The customer's campaign mailbox, newest first: the text part only (a page never renders a
-- mail's HTML), and the directory it was matched to, if any.
select e.id, e.sender, e.subject, e.body_text, e.received_at, e.directory_id,
       d.name as directory_name
  from inbound_emails e
  join customers c on c.id = e.customer_id
  left join directories d on d.id = e.directory_id
 where c.user_id = %(user_id)s
 order by e.received_at desc, e.id desc
 limit %(limit)s;
