-- Why: two races between a verification mail's arrival and its directory (found in review):
-- - a mail stored while its directory was parking was matched by neither side (each read
--   only what the other had committed): the receiver now takes the customer's mailbox lock
--   (private.lock_mailbox, 20261206000900) before it writes or locks anything, as the park
--   does, so whichever comes second sees the first;
-- - the receiver locked the directory and then (in private.jobs_wake) the job, the reverse
--   of jobs_cancel's order: a mail arriving as staff cancelled could deadlock. It now picks
--   its candidate unlocked, locks the job, then the directory, and checks it again.
-- Otherwise inbound_emails_receive is as in 20261206000800.

create or replace function public.inbound_emails_receive(
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
  -- Before anything is written or locked: a directory parking for its email at this moment
  -- (which takes the same lock) is either committed and seen below, or sees this mail.
  perform private.lock_mailbox(v_customer);

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
   limit 1;

  -- Locked job first, then its directory, as every queue function does (jobs_cancel did
  -- the opposite of this function's first version and the two could deadlock); the
  -- directory is checked again once locked, since a staff action may have moved it.
  if v_job is not null then
    perform 1 from public.jobs j where j.id = v_job for update;
    perform 1 from public.job_directories jd
     where jd.job_id = v_job and jd.directory_id = v_directory
       and jd.status = 'waiting' and jd.wait_kind = 'email' and jd.wake_mail_id is null
     for update;
    if not found then
      v_job := null;
      v_directory := null;
    end if;
  end if;

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
