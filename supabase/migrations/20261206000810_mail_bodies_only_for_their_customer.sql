-- Why: staff (dbolt_staff) read every row of inbound_emails, bodies included: verification
-- links and codes of every customer's directory accounts, without the audit row a staff
-- password reveal leaves (20261206000400). And the customer's /mailbox page loaded up to 100
-- whole bodies of up to 1 MB each.
--
-- Column grants cannot give staff less than customers: dbolt_staff is a member of
-- authenticated (20261203000150) and inherits its column privileges. So neither role reads
-- body_text/body_html from the table any more; a customer reads their own mail's text through
-- inbound_emails_list_own (their rows only, whoever calls it, staff included: a staff member's
-- own customer account has no campaign mail of anyone else's), cut to a page's worth. Staff
-- pages read the other columns (sender, subject, the match) as before; nothing on a staff page
-- shows a body.

revoke select on public.inbound_emails from authenticated, dbolt_staff;
grant select (id, provider, provider_message_id, customer_id, recipient, sender, subject,
              received_at, job_id, directory_id, matched_at, sender_authenticated)
  on public.inbound_emails to authenticated;

-- The signed-in customer's campaign mail, newest first: at most p_limit mails (1..100), the
-- text part cut to p_body_chars characters (1..100000; `body_cut` says it was cut), the
-- directory it was matched to. Never the HTML part: our pages never render a mail's HTML.
create function public.inbound_emails_list_own(p_limit integer, p_body_chars integer)
returns table (
  id bigint, sender text, subject text, body_text text, body_cut boolean,
  received_at timestamptz, directory_id text, directory_name text
)
language sql stable security definer set search_path = ''
as $$
  select e.id, e.sender, e.subject,
         left(e.body_text, least(greatest(coalesce(p_body_chars, 20000), 1), 100000)),
         length(e.body_text) > least(greatest(coalesce(p_body_chars, 20000), 1), 100000),
         e.received_at, e.directory_id, d.name
    from public.inbound_emails e
    left join public.directories d on d.id = e.directory_id
   where e.customer_id = (select private.current_customer_id())
   order by e.received_at desc, e.id desc
   limit least(greatest(coalesce(p_limit, 100), 1), 100);
$$;
revoke execute on function public.inbound_emails_list_own(integer, integer) from public, anon;
grant execute on function public.inbound_emails_list_own(integer, integer) to authenticated;
comment on function public.inbound_emails_list_own(integer, integer) is
  'The signed-in customer''s own campaign mail for the /mailbox page: text parts cut to a page''s worth; the only way an API role reads a mail body.';
