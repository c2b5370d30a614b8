-- Why: the inbound-mail matcher (20261206000300, 20261206000700) matched mail to a waiting
-- directory on its From header, which any sender can write, and Mailgun's webhook signature
-- covers neither the body nor the sender. Whoever knew a customer's campaign mailbox could
-- send `From: no-reply@<directory>` with a wrong link first and use up the directory's wait.
--
-- The webhook now reads the sender-authentication verdicts Mailgun adds to each inbound mail
-- (webhook/sender_auth.py: DKIM pass with the signing domain within the From domain, or SPF
-- pass with the envelope sender's domain within it) and says so here. Every mail is still
-- stored (the customer and staff read it), but only an authenticated one is matched, here and
-- when a directory parks after its mail came (private.inbound_emails_match_parked).

alter table public.inbound_emails
  add column sender_authenticated boolean not null default false;
comment on column public.inbound_emails.sender_authenticated is
  'The provider authenticated the sender (DKIM or SPF, aligned with the From domain): only such mail is matched to a waiting directory.';

drop function public.inbound_emails_receive(text, text, text, text, text, text, text, text);

-- Store one verified inbound mail and wake the directory waiting for it (from 20261206000300).
--   p_recipient_local_part: the mailbox it was sent to, without the domain (the webhook
--     refuses other domains); an unknown mailbox raises DB003 and nothing is stored.
--   p_sender: the address it is from (the From header's address), matched against the recipe.
--   p_token: the signed delivery's token (optional): a token already used for another
--     message raises DB005 (constraint inbound_mail_token_reused) and nothing is stored.
--   p_sender_authenticated: the webhook's verdict on the sender; false (the default) stores
--     the mail unmatched, whatever its From says.
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
  p_token text default null,
  p_sender_authenticated boolean default false
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
    (provider, provider_message_id, customer_id, recipient, sender, subject, body_text, body_html,
     sender_authenticated)
  values (p_provider, v_message_id, v_customer, v_local, v_sender,
          left(coalesce(p_subject, ''), 998), left(coalesce(p_body_text, ''), 1000000),
          left(coalesce(p_body_html, ''), 2000000), coalesce(p_sender_authenticated, false))
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

  -- Only mail whose sender the provider authenticated wakes a directory: the From header
  -- alone is anyone's to write, and a forged mail matched first would use up the wait.
  if not v_mail.sender_authenticated then
    return jsonb_build_object('id', v_mail.id, 'duplicate', false, 'matched', false,
      'job_id', null, 'directory_id', null, 'woken', false);
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
revoke execute on function public.inbound_emails_receive(text, text, text, text, text, text, text, text, boolean)
  from public, anon, authenticated;
grant execute on function public.inbound_emails_receive(text, text, text, text, text, text, text, text, boolean)
  to service_role;
comment on function public.inbound_emails_receive(text, text, text, text, text, text, text, text, boolean) is
  'The inbound-mail webhook''s one call per verified delivery: stores the mail once per provider message id and, when its sender was authenticated, matches it to the customer''s directory waiting for an email and wakes its job.';

-- Mail that came before the wait (from 20261206000700): only authenticated mail, as above.
create or replace function private.inbound_emails_match_parked(job_id uuid, directory_id text)
returns bigint
language plpgsql security definer set search_path = ''
as $$
declare
  v_since timestamptz;
  v_mail public.inbound_emails;
begin
  select max(a.at) into v_since from public.audit_log a
   where a.job_id = inbound_emails_match_parked.job_id
     and a.directory_id = inbound_emails_match_parked.directory_id
     and a.action = 'directory.started';
  select e.* into v_mail
    from public.inbound_emails e
    join public.jobs j on j.id = inbound_emails_match_parked.job_id
    join public.directories d on d.id = inbound_emails_match_parked.directory_id
   where e.customer_id = j.customer_id
     and e.job_id is null
     and e.sender_authenticated
     and e.received_at >= coalesce(v_since, j.created_at)
     and private.mail_fits_directory(e.sender, e.subject, d.recipe, d.homepage)
   order by e.received_at, e.id
   limit 1
   for update of e skip locked;
  if not found then
    return null;
  end if;
  update public.inbound_emails e
     set job_id = inbound_emails_match_parked.job_id,
         directory_id = inbound_emails_match_parked.directory_id, matched_at = now()
   where e.id = v_mail.id;
  perform private.audit('mail:' || v_mail.id, 'directory.mail_arrived',
    inbound_emails_match_parked.job_id, inbound_emails_match_parked.directory_id, null, null,
    jsonb_build_object('mail_id', v_mail.id, 'before_the_wait', true));
  return v_mail.id;
end;
$$;
revoke execute on function private.inbound_emails_match_parked(uuid, text)
  from public, anon, authenticated;
