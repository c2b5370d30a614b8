-- Why: directories send their verification emails to the customer's campaign mailbox
-- (customer_mailboxes.local_part @ MAILBOX_DOMAIN). The inbound-mail webhook (webhook/,
-- Mailgun's signed Routes forward) verifies each delivery and hands it here, once: the mail is
-- stored once per provider message id, matched to the directory of that customer that is
-- parked waiting for an email, and the job is woken so a worker resumes the directory with
-- the mail's link or code. Mail that matches nothing is kept (staff and the customer read it).
--
-- The webhook's signature covers only its timestamp and token, not the mail: a captured
-- delivery could be re-sent with another body inside the freshness window. So every token is
-- used once, recorded in the same transaction as the mail it carried.

create table private.inbound_mail_tokens (
  provider text not null,
  token text not null check (length(token) between 1 and 200),
  provider_message_id text not null,
  used_at timestamptz not null default now(),
  primary key (provider, token)
);
comment on table private.inbound_mail_tokens is
  'Every signed inbound-mail delivery token we accepted, with the message it carried: a token is good for that one message only (replays with another body are refused).';
create index inbound_mail_tokens_used_at_idx on private.inbound_mail_tokens (used_at);

-- The host of a directory's homepage, without a leading "www." ("https://www.yelp.com/x" → "yelp.com").
create function private.url_mail_domain(p_url text) returns text
language sql immutable set search_path = ''
as $$
  select nullif(regexp_replace(lower(coalesce(substring(p_url from '^[a-zA-Z]+://(?:[^/@]*@)?([^/:?#]+)'), '')),
                               '^www\.', ''), '');
$$;
revoke execute on function private.url_mail_domain(text) from public;

-- `domain` is `parent` or one of its subdomains (mail often comes from mail.<site> or em.<site>).
create function private.domain_is_within(p_domain text, p_parent text) returns boolean
language sql immutable set search_path = ''
as $$
  select p_domain is not null and p_parent is not null and p_parent <> ''
     and (p_domain = p_parent or right(p_domain, length(p_parent) + 1) = '.' || p_parent);
$$;
revoke execute on function private.domain_is_within(text, text) from public;

-- Whether a mail from `sender` (a bare address, lower case) with `subject` is the one a
-- directory waits for: its recipe's verify_email phase names the sender ("noreply@site.com",
-- or "@site.com" for any address of that domain and its subdomains) and optionally a subject
-- substring; without a named sender, the sender's domain must be the homepage's (or below it).
create function private.mail_fits_directory(
  p_sender text, p_subject text, p_recipe jsonb, p_homepage text
) returns boolean
language sql immutable set search_path = ''
as $$
  with spec as (
    select lower(btrim(p_recipe -> 'phases' -> 'verify_email' ->> 'from')) as sender_rule,
           p_recipe -> 'phases' -> 'verify_email' ->> 'subject' as subject_rule,
           split_part(p_sender, '@', 2) as sender_domain
  )
  select (case
            when coalesce(s.sender_rule, '') = '' then
              private.domain_is_within(s.sender_domain, private.url_mail_domain(p_homepage))
            when left(s.sender_rule, 1) = '@' then
              private.domain_is_within(s.sender_domain, substr(s.sender_rule, 2))
            else p_sender = s.sender_rule
          end)
     and (coalesce(s.subject_rule, '') = ''
          or strpos(lower(coalesce(p_subject, '')), lower(s.subject_rule)) > 0)
    from spec s;
$$;
revoke execute on function private.mail_fits_directory(text, text, jsonb, text) from public;

-- Store one verified inbound mail and wake the directory waiting for it.
--   p_recipient_local_part: the mailbox it was sent to, without the domain (the webhook
--     refuses other domains); an unknown mailbox raises DB003 and nothing is stored.
--   p_sender: the address it is from (the From header's address), matched against the recipe.
--   p_token: the signed delivery's token (optional): a token already used for another
--     message raises DB005 (constraint inbound_mail_token_reused) and nothing is stored.
-- A second delivery of the same (provider, message id) returns the stored row
-- (`duplicate`: true) and changes nothing. Long subjects and bodies are cut to the table's
-- limits, never refused: the mail did arrive.
create function public.inbound_emails_receive(
  p_provider text,
  p_provider_message_id text,
  p_recipient_local_part text,
  p_sender text,
  p_subject text,
  p_body_text text,
  p_body_html text,
  p_token text default null
) returns jsonb
language plpgsql security definer set search_path = ''
as $$
declare
  v_local text := lower(btrim(coalesce(p_recipient_local_part, '')));
  v_sender text := lower(btrim(coalesce(p_sender, '')));
  v_message_id text := btrim(coalesce(p_provider_message_id, ''));
  v_customer uuid;
  v_mail public.inbound_emails;
  v_token_message text;
  v_job uuid;
  v_directory text;
  v_actor text;
  v_woken boolean := false;
begin
  if p_provider is null or p_provider !~ '^[a-z0-9_-]{1,40}$' then
    raise exception 'provider must be a short lower-case name' using errcode = 'DB005';
  end if;
  if v_message_id = '' or length(v_message_id) > 998 then
    raise exception 'provider_message_id is required (at most 998 characters)' using errcode = 'DB005';
  end if;
  if v_sender !~ '^[^@\s]+@[^@\s]+$' or length(v_sender) > 320 then
    raise exception 'sender must be an email address' using errcode = 'DB005';
  end if;

  select m.customer_id into v_customer from public.customer_mailboxes m where m.local_part = v_local;
  if not found then
    raise exception 'no campaign mailbox %', v_local using errcode = 'DB003';
  end if;

  if p_token is not null then
    insert into private.inbound_mail_tokens (provider, token, provider_message_id)
    values (p_provider, p_token, v_message_id)
    on conflict do nothing;
    if not found then
      select t.provider_message_id into v_token_message from private.inbound_mail_tokens t
       where t.provider = p_provider and t.token = p_token;
      if v_token_message is distinct from v_message_id then
        raise exception 'the delivery token was already used for another message'
          using errcode = 'DB005', constraint = 'inbound_mail_token_reused';
      end if;
    end if;
    -- Tokens older than any freshness window the webhook accepts cannot come back signed.
    delete from private.inbound_mail_tokens t where t.used_at < now() - interval '7 days';
  end if;

  insert into public.inbound_emails as e
    (provider, provider_message_id, customer_id, recipient, sender, subject, body_text, body_html)
  values (p_provider, v_message_id, v_customer, v_local, v_sender,
          left(coalesce(p_subject, ''), 998), left(coalesce(p_body_text, ''), 1000000),
          left(coalesce(p_body_html, ''), 2000000))
  on conflict (provider, provider_message_id) do nothing
  returning e.* into v_mail;

  if v_mail.id is null then
    select e.* into v_mail from public.inbound_emails e
     where e.provider = p_provider and e.provider_message_id = v_message_id;
    if v_mail.customer_id <> v_customer then
      -- The same message sent to two mailboxes is kept for the first: never shown to another customer.
      raise exception 'message % is already stored for another mailbox', v_message_id
        using errcode = 'DB005', constraint = 'inbound_mail_other_mailbox';
    end if;
    return jsonb_build_object('id', v_mail.id, 'duplicate', true,
      'matched', v_mail.job_id is not null, 'job_id', v_mail.job_id,
      'directory_id', v_mail.directory_id, 'woken', false);
  end if;

  -- The customer's directory parked for an email that this mail fits; with several, the one
  -- parked first (its row last changed when it was parked).
  select jd.job_id, jd.directory_id into v_job, v_directory
    from public.job_directories jd
    join public.jobs j on j.id = jd.job_id
    join public.directories d on d.id = jd.directory_id
   where j.customer_id = v_customer
     and j.status not in ('cancelled', 'complete', 'failed')
     and jd.status = 'waiting' and jd.wait_kind = 'email' and jd.wake_mail_id is null
     and private.mail_fits_directory(v_sender, v_mail.subject, d.recipe, d.homepage)
   order by jd.updated_at, j.created_at, jd.position
   limit 1
   for update of jd;

  if v_job is null then
    return jsonb_build_object('id', v_mail.id, 'duplicate', false, 'matched', false,
      'job_id', null, 'directory_id', null, 'woken', false);
  end if;

  v_actor := 'mail:' || v_mail.id;
  update public.inbound_emails e set job_id = v_job, directory_id = v_directory, matched_at = now()
   where e.id = v_mail.id;
  update public.job_directories jd set wake_mail_id = v_mail.id
   where jd.job_id = v_job and jd.directory_id = v_directory;
  perform private.audit(v_actor, 'directory.mail_arrived', v_job, v_directory, null, null,
    jsonb_build_object('mail_id', v_mail.id, 'sender', v_sender));
  v_woken := private.jobs_wake(v_job, v_actor, 'email arrived');
  return jsonb_build_object('id', v_mail.id, 'duplicate', false, 'matched', true,
    'job_id', v_job, 'directory_id', v_directory, 'woken', v_woken);
end;
$$;
revoke execute on function public.inbound_emails_receive(text, text, text, text, text, text, text, text)
  from public, anon, authenticated;
grant execute on function public.inbound_emails_receive(text, text, text, text, text, text, text, text)
  to service_role;
comment on function public.inbound_emails_receive(text, text, text, text, text, text, text, text) is
  'The inbound-mail webhook''s one call per verified delivery: stores the mail once per provider message id, matches it to the customer''s directory waiting for an email, and wakes its job.';
