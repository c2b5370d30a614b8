-- Why: a security review of 20261207000310 found that customers_hold_logo stored an upload
-- before any other check: a refunded or unpaid order could hold logos, and each refused form
-- with a different file added another row of up to 1 MiB, with no cap and no clean-up. Now a
-- logo can be held only for an order that is paid (the form's own save, customers_save_business,
-- refuses any other with DB002), and an order holds at most one logo: holding a new one deletes
-- the order's earlier held-but-unused one. A held logo stops being "held" once it is used
-- (customers_use_logo), and only then can a job snapshot refer to it, so the one deleted is
-- never referred to. Logos uploaded before this migration carry no order and are left alone.

alter table public.customer_logos
  add column held_for_order uuid references public.orders (id) on delete cascade;
comment on column public.customer_logos.held_for_order is
  'The order whose Business Info Form holds this upload, until the form is saved with it (then null). At most one per order; a new one replaces it.';
create unique index customer_logos_one_held_per_order
  on public.customer_logos (held_for_order) where held_for_order is not null;

-- From 20261207000310: refuses an order that is not paid (DB002), and keeps at most one held
-- logo per order.
create or replace function public.customers_hold_logo(order_id uuid, content bytea, content_type text)
returns uuid
language plpgsql security definer set search_path = ''
as $$
declare
  v_order public.orders;
  v_sha256 text := encode(sha256(customers_hold_logo.content), 'hex');
  v_logo uuid;
begin
  perform private.check_argument(customers_hold_logo.content_type in ('image/png', 'image/jpeg', 'image/webp'),
    'logo must be a PNG, JPEG or WebP image');
  perform private.check_argument(octet_length(customers_hold_logo.content) between 1 and 1048576,
    'logo must be at most 1 MiB');
  v_order := private.own_order_for_update(customers_hold_logo.order_id);
  if v_order.status <> 'paid' then
    raise exception 'order % is %: its business info can no longer be submitted', v_order.id, v_order.status
      using errcode = 'DB002';
  end if;
  select l.id into v_logo from public.customer_logos l
   where l.customer_id = v_order.customer_id and l.sha256 = v_sha256
     and l.content_type = customers_hold_logo.content_type
   order by l.created_at limit 1;
  -- The order's earlier held logo, unless it is this very upload, was never used: it goes.
  delete from public.customer_logos l
   where l.held_for_order = v_order.id and l.id is distinct from v_logo;
  if v_logo is null then
    insert into public.customer_logos (customer_id, content_type, content, sha256, held_for_order)
    values (v_order.customer_id, customers_hold_logo.content_type, customers_hold_logo.content,
            v_sha256, v_order.id)
    returning id into v_logo;
  end if;
  return v_logo;
end;
$$;
revoke execute on function public.customers_hold_logo(uuid, bytea, text) from public, anon, authenticated;
grant execute on function public.customers_hold_logo(uuid, bytea, text) to authenticated;

-- From 20261207000310: refuses an order that is not paid (DB002), and a used logo is no
-- longer held (a later hold for the order keeps it).
create or replace function public.customers_use_logo(order_id uuid, logo_id uuid, url_base text)
returns text
language plpgsql security definer set search_path = ''
as $$
declare
  v_order public.orders;
  v_type text;
  v_url text;
begin
  perform private.check_argument(customers_use_logo.url_base ~ '^https?://[^\s/?#]+$',
    'url_base must be an http(s) origin without a path');
  v_order := private.own_order_for_update(customers_use_logo.order_id);
  if v_order.status <> 'paid' then
    raise exception 'order % is %: its business info can no longer be submitted', v_order.id, v_order.status
      using errcode = 'DB002';
  end if;
  update public.customer_logos l set held_for_order = null
   where l.id = customers_use_logo.logo_id and l.customer_id = v_order.customer_id
  returning l.content_type into v_type;
  if not found then
    raise exception 'logo % not found', customers_use_logo.logo_id using errcode = 'DB003';
  end if;
  v_url := customers_use_logo.url_base || '/logos/' || customers_use_logo.logo_id::text || '.'
    || case v_type when 'image/png' then 'png' when 'image/jpeg' then 'jpg' else 'webp' end;
  update public.customers c set logo_url = v_url where c.id = v_order.customer_id;
  return v_url;
end;
$$;
revoke execute on function public.customers_use_logo(uuid, uuid, text) from public, anon, authenticated;
grant execute on function public.customers_use_logo(uuid, uuid, text) to authenticated;
