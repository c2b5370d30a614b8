-- Why: directories send their account verification emails to the address an account was
-- opened with. A customer's own inbox is one we never read, so every customer gets a campaign
-- mailbox on a domain we control (MAILBOX_DOMAIN), made with their first job and reused on
-- every reorder, so each directory account they own keeps one login.
--
-- Only the local part is stored: the domain is configuration (the orchestrator, webhook and
-- portal join them), so moving to another mail domain needs no migration.

create table public.customer_mailboxes (
  customer_id uuid primary key references public.customers (id),
  -- Readable (from the business name) and unguessable (random suffix): mail to a guessed
  -- address of another customer must not land in their mailbox.
  local_part text not null unique check (local_part ~ '^[a-z0-9][a-z0-9-]{2,62}$'),
  created_at timestamptz not null default now()
);
comment on table public.customer_mailboxes is
  'Each customer''s campaign mailbox (local_part@MAILBOX_DOMAIN): directory accounts are opened with it and their emails arrive in it.';

alter table public.customer_mailboxes enable row level security;
grant select on public.customer_mailboxes to authenticated, dbolt_staff;
create policy "customers can read their own mailbox"
  on public.customer_mailboxes for select to authenticated
  using (customer_id = (select private.current_customer_id()));
create policy "staff can read every mailbox"
  on public.customer_mailboxes for select to dbolt_staff
  using ((select private.is_staff()));

-- The business name as a mailbox word: lower case ASCII letters and digits joined by '-',
-- at most 30 characters ("Café Zoë & Co." → "cafe-zoe-co").
create function private.mailbox_slug(p_name text) returns text
language sql immutable set search_path = ''
as $$
  select coalesce(nullif(left(trim(both '-' from regexp_replace(
    lower(translate(coalesce(p_name, ''),
      'àáâãäåçèéêëìíîïñòóôõöùúûüýÿ', 'aaaaaaceeeeiiiinooooouuuuyy')),
    '[^a-z0-9]+', '-', 'g')), 30), ''), 'business');
$$;
revoke execute on function private.mailbox_slug(text) from public;

-- The customer's mailbox, made if they have none (a random suffix, retried on the rare clash).
create function private.customer_mailbox(p_customer_id uuid, p_business_name text)
returns text
language plpgsql security definer set search_path = ''
as $$
declare
  v_local text;
begin
  select m.local_part into v_local from public.customer_mailboxes m
   where m.customer_id = p_customer_id;
  if found then
    return v_local;
  end if;
  for i in 1..5 loop
    v_local := trim(both '-' from private.mailbox_slug(p_business_name)) || '-'
               || substr(md5(gen_random_uuid()::text), 1, 8);
    insert into public.customer_mailboxes (customer_id, local_part)
    values (p_customer_id, v_local)
    on conflict do nothing;
    select m.local_part into v_local from public.customer_mailboxes m
     where m.customer_id = p_customer_id;
    if found then
      return v_local;
    end if;
  end loop;
  raise exception 'could not make a mailbox for customer %', p_customer_id using errcode = 'DB002';
end;
$$;
revoke execute on function private.customer_mailbox(uuid, text) from public;

create function private.jobs_give_customer_a_mailbox() returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
  perform private.customer_mailbox(new.customer_id, new.business_snapshot ->> 'business_name');
  return null;
end;
$$;
revoke execute on function private.jobs_give_customer_a_mailbox() from public;
create trigger jobs_give_customer_a_mailbox after insert on public.jobs
  for each row execute function private.jobs_give_customer_a_mailbox();

-- Customers who already have jobs get theirs now.
select private.customer_mailbox(j.customer_id, j.business_snapshot ->> 'business_name')
  from (select distinct on (customer_id) customer_id, business_snapshot
          from public.jobs order by customer_id, created_at) j;
