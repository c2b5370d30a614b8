-- Mail to the customers' campaign mailboxes (webhook/inbound_mail.py).

-- name: inbound_emails_receive
-- Service role: one call per verified delivery; stores it once per (provider, message id),
-- matches it to the directory waiting for it and wakes its job. Returns jsonb (id, duplicate,
-- matched, job_id, directory_id, woken).
select public.inbound_emails_receive(
  %(provider)s, %(provider_message_id)s, %(recipient_local_part)s, %(sender)s, %(subject)s,
  %(body_text)s, %(body_html)s, %(token)s
) as result;
