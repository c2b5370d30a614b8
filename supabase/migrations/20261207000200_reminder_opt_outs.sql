-- Why: reminder emails ("directories are still waiting for you") must be easy to stop, without
-- signing in: they carry List-Unsubscribe (RFC 2369) with one-click POST (RFC 8058), and mail
-- providers expect that link to work from the message alone. The link names the customer and
-- the kind of mail by a random token (256 bits from pgcrypto) that only the database can
-- check: it keeps just the token's SHA-256, so a token can be neither guessed, enumerated
-- nor derived from anything else the customer or the database holds, an altered one matches
-- nothing, and each link expires. Opting out stops reminders only; the mail about what a
-- customer bought (payment received, job started, report ready, the first notice that a
-- directory needs them) still goes out.
--
-- Both tables are the service role's alone (the webhook's notifier issues links and reads
-- opt-outs; the portal's unsubscribe page checks a link); nobody, not even the service role,
-- writes them except through the functions below.

create table public.email_opt_outs (
  customer_id uuid not null references public.customers (id) on delete cascade,
  -- Which mail the customer stopped: only reminders can be stopped today.
  list text not null constraint email_opt_outs_list_known check (list in ('reminders')),
  opted_out_at timestamptz not null default now(),
  primary key (customer_id, list)
);
comment on table public.email_opt_outs is
  'The kinds of mail a customer asked us to stop (an unsubscribe link in a reminder). The notifier skips those kinds; mail about what they bought still goes out. Service role only.';
alter table public.email_opt_outs enable row level security;
-- No policies: only the service role (which bypasses RLS) reads it.

create table public.email_unsubscribe_links (
  -- sha256 of the token in the link: the token itself is never stored.
  token_hash bytea primary key check (length(token_hash) = 32),
  customer_id uuid not null references public.customers (id) on delete cascade,
  list text not null constraint email_unsubscribe_links_list_known check (list in ('reminders')),
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  constraint email_unsubscribe_links_expire_later check (expires_at > created_at)
);
comment on table public.email_unsubscribe_links is
  'One row per unsubscribe link put in a reminder email: who and which mail it stops, until when. Keyed by the token''s SHA-256 so a leaked row cannot be used as a link. Service role only.';
create index email_unsubscribe_links_customer_idx on public.email_unsubscribe_links (customer_id);
alter table public.email_unsubscribe_links enable row level security;
-- No policies: only the service role (which bypasses RLS) reads it.

-- Least privilege: the API roles get nothing (20261203000100's default privileges already
-- give them none); the service role may read, and writes only through the functions.
revoke all on public.email_opt_outs, public.email_unsubscribe_links from anon, authenticated;
revoke insert, update, delete, truncate, references, trigger
  on public.email_opt_outs, public.email_unsubscribe_links from service_role;

create function private.email_token_hash(token text) returns bytea
language sql immutable set search_path = ''
as $$ select sha256(convert_to(coalesce(token, ''), 'UTF8')) $$;
revoke execute on function private.email_token_hash(text) from public, anon, authenticated;

-- A new link for one email: the token goes into the email and is never seen again here.
create function public.email_unsubscribe_links_issue(
  customer_id uuid, list text, valid_seconds int default 7776000
) returns text
language plpgsql security definer set search_path = ''
as $$
declare
  v_token text;
begin
  perform private.check_argument(email_unsubscribe_links_issue.valid_seconds
    between 3600 and 31536000, 'valid_seconds must be between an hour and a year');
  if not exists (select 1 from public.customers c where c.id = email_unsubscribe_links_issue.customer_id) then
    raise exception 'customer % not found', email_unsubscribe_links_issue.customer_id
      using errcode = 'DB003';
  end if;
  -- 32 random bytes as unpadded base64url: 43 characters, safe in a URL path.
  v_token := rtrim(translate(encode(extensions.gen_random_bytes(32), 'base64'), '+/', '-_'), '=');
  insert into public.email_unsubscribe_links (token_hash, customer_id, list, expires_at)
  values (private.email_token_hash(v_token), email_unsubscribe_links_issue.customer_id,
          email_unsubscribe_links_issue.list,
          now() + make_interval(secs => email_unsubscribe_links_issue.valid_seconds));
  return v_token;
end;
$$;
revoke execute on function public.email_unsubscribe_links_issue(uuid, text, int)
  from public, anon, authenticated;
grant execute on function public.email_unsubscribe_links_issue(uuid, text, int) to service_role;

-- What a link would do, for the confirmation page (GET changes nothing): 'valid', 'expired'
-- or 'unknown' (never issued, or altered), with the address it stops mail to, partly hidden
-- (the page is for whoever holds the link), and whether that mail is already stopped.
create function public.email_unsubscribe_links_check(token text)
returns table (status text, list text, recipient_hint text, opted_out_at timestamptz)
language sql stable security definer set search_path = ''
as $$
  select case when l.token_hash is null then 'unknown'
              when l.expires_at <= now() then 'expired'
              else 'valid' end,
         l.list,
         case when l.token_hash is not null
              then left(c.email, 1) || '…@' || split_part(c.email, '@', 2) end,
         o.opted_out_at
    from (select 1) one
    left join public.email_unsubscribe_links l
      on l.token_hash = private.email_token_hash(email_unsubscribe_links_check.token)
    left join public.customers c on c.id = l.customer_id
    left join public.email_opt_outs o on o.customer_id = l.customer_id and o.list = l.list;
$$;
revoke execute on function public.email_unsubscribe_links_check(text) from public, anon, authenticated;
grant execute on function public.email_unsubscribe_links_check(text) to service_role;

-- The unsubscribe itself (the one-click POST, or the page's button). Idempotent: a second
-- click answers with the first opt-out's time. An unknown or altered token is DB003 and an
-- expired one DB005 (email_unsubscribe_links_expired); neither changes anything.
create function public.email_opt_outs_unsubscribe(token text)
returns table (list text, opted_out_at timestamptz, already boolean)
language plpgsql security definer set search_path = ''
as $$
declare
  v_link public.email_unsubscribe_links;
  v_at timestamptz;
begin
  select l.* into v_link from public.email_unsubscribe_links l
   where l.token_hash = private.email_token_hash(email_opt_outs_unsubscribe.token);
  if not found then
    raise exception 'this unsubscribe link is not one we issued' using errcode = 'DB003';
  end if;
  if v_link.expires_at <= now() then
    raise exception 'this unsubscribe link expired at %', v_link.expires_at
      using errcode = 'DB005', constraint = 'email_unsubscribe_links_expired';
  end if;
  insert into public.email_opt_outs as o (customer_id, list)
  values (v_link.customer_id, v_link.list)
  on conflict on constraint email_opt_outs_pkey do nothing
  returning o.opted_out_at into v_at;
  if v_at is not null then
    return query select v_link.list, v_at, false;
  else
    return query select o.list, o.opted_out_at, true from public.email_opt_outs o
                  where o.customer_id = v_link.customer_id and o.list = v_link.list;
  end if;
end;
$$;
revoke execute on function public.email_opt_outs_unsubscribe(text) from public, anon, authenticated;
grant execute on function public.email_opt_outs_unsubscribe(text) to service_role;
