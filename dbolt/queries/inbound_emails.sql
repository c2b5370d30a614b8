-- Mail to the customers' campaign mailboxes (webhook/inbound_mail.py).

-- name: inbound_emails_receive
-- Service role: one call per verified delivery; stores it once per (provider, message id),
-- matches it to the directory waiting for it and wakes its job. Returns jsonb (id, duplicate,
-- matched, job_id, directory_id, woken). Only mail whose sender was authenticated is matched.
select public.inbound_emails_receive(
  %(provider)s, %(provider_message_id)s, %(recipient_local_part)s, %(sender)s, %(subject)s,
  %(body_text)s, %(body_html)s, %(token)s, %(sender_authenticated)s
) as result;

-- name: inbound_emails_list_own
-- The customer's campaign mailbox, newest first: the text part only (a page never renders a
-- mail's HTML) cut to body_chars characters (body_cut says so), and the directory it was
-- matched to, if any. Through the function: no API role reads a body from the table itself.
select id, sender, subject, body_text, body_cut, received_at, directory_id, directory_name
  from inbound_emails_list_own(%(limit)s, %(body_chars)s);
