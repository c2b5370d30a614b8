-- Unsubscribe links in reminder emails (migration 20261207000200). Run as the service role.

-- name: email_unsubscribe_links_issue
select public.email_unsubscribe_links_issue(customer_id => %(customer_id)s, list => %(list)s,
                                            valid_seconds => %(valid_seconds)s) as token;

-- name: email_unsubscribe_links_check
-- What a link would do, for the confirmation page; changes nothing.
select c.status, c.list, c.recipient_hint, c.opted_out_at
  from public.email_unsubscribe_links_check(token => %(token)s) c;
