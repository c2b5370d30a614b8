-- Why: a security review of 20261207000200 found that unsubscribe links piled up: the
-- notifier issues one on every send attempt (retries too), and expired rows were never
-- deleted. Now issuing a link deletes every expired one, and gives back the customer's
-- unexpired link for the same kind of mail when there is one (its expiry moved out to the
-- new one's), so a retry mints nothing.
--
-- To give back a link, its token must be computable again, yet still never stored: the
-- token of a new link is the HMAC-SHA256 of the link's own random id under a key only the
-- database holds (private.email_link_keys, readable by no API role and not by the service
-- role). A row still cannot be used as a link without that key; the token is still 256 bits
-- nobody can guess. Links issued before this migration (random tokens, no id) keep working
-- until they expire, but are not given back.

create table private.email_link_keys (
  singleton boolean primary key default true check (singleton),
  key bytea not null check (length(key) = 32)
);
comment on table private.email_link_keys is
  'The secret key unsubscribe tokens are derived from (HMAC of the link id). Only security definer functions read it.';
revoke all on private.email_link_keys from public, anon, authenticated, service_role;
insert into private.email_link_keys (key) values (extensions.gen_random_bytes(32));

alter table public.email_unsubscribe_links add column link_id uuid unique;
comment on column public.email_unsubscribe_links.link_id is
  'Random id the token is derived from (HMAC under private.email_link_keys), so the same link can be put in a later email; null for links issued before 20261207000210.';
create index email_unsubscribe_links_expires_idx on public.email_unsubscribe_links (expires_at);

create function private.email_link_token(link_id uuid) returns text
language sql stable set search_path = ''
as $$
  -- 32 bytes as unpadded base64url: 43 characters, safe in a URL path.
  select rtrim(translate(encode(extensions.hmac(convert_to(link_id::text, 'UTF8'), k.key, 'sha256'),
                                'base64'), '+/', '-_'), '=')
    from private.email_link_keys k
$$;
revoke execute on function private.email_link_token(uuid) from public, anon, authenticated, service_role;

-- From 20261207000200: deletes expired links, and gives back the customer's unexpired link
-- for the same list (valid for at least valid_seconds from now) instead of a new one.
create or replace function public.email_unsubscribe_links_issue(
  customer_id uuid, list text, valid_seconds int default 7776000
) returns text
language plpgsql security definer set search_path = ''
as $$
declare
  v_link_id uuid;
  v_token text;
  v_until timestamptz := now() + make_interval(secs => email_unsubscribe_links_issue.valid_seconds);
begin
  perform private.check_argument(email_unsubscribe_links_issue.valid_seconds
    between 3600 and 31536000, 'valid_seconds must be between an hour and a year');
  if not exists (select 1 from public.customers c where c.id = email_unsubscribe_links_issue.customer_id) then
    raise exception 'customer % not found', email_unsubscribe_links_issue.customer_id
      using errcode = 'DB003';
  end if;
  delete from public.email_unsubscribe_links l where l.expires_at <= now();
  update public.email_unsubscribe_links l set expires_at = greatest(l.expires_at, v_until)
   where l.link_id = (select o.link_id from public.email_unsubscribe_links o
                       where o.customer_id = email_unsubscribe_links_issue.customer_id
                         and o.list = email_unsubscribe_links_issue.list
                         and o.link_id is not null
                       order by o.created_at desc limit 1
                       for update)
  returning l.link_id into v_link_id;
  if v_link_id is not null then
    return private.email_link_token(v_link_id);
  end if;
  v_link_id := gen_random_uuid();
  v_token := private.email_link_token(v_link_id);
  insert into public.email_unsubscribe_links (token_hash, link_id, customer_id, list, expires_at)
  values (private.email_token_hash(v_token), v_link_id, email_unsubscribe_links_issue.customer_id,
          email_unsubscribe_links_issue.list, v_until);
  return v_token;
end;
$$;
revoke execute on function public.email_unsubscribe_links_issue(uuid, text, int)
  from public, anon, authenticated;
grant execute on function public.email_unsubscribe_links_issue(uuid, text, int) to service_role;
