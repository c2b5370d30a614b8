-- Why: when the Business Info Form came back with an error, the logo the customer had chosen
-- was dropped without a word (a browser cannot put a file back into a file input), and
-- customers_save_logo could not keep it without changing their profile's logo before the form
-- was saved. Now an accepted upload is held first — stored for the customer, the profile left
-- alone — and the form carries its id; the save then uses the held logo. A held logo is used
-- only for its own customer: another customer's logo id is refused like one that does not
-- exist. The same bytes uploaded again by the same customer are held once.

-- Holds an upload for the signed-in customer's order; returns its id (an earlier identical
-- upload's, if there is one). customers.logo_url is not touched.
create function public.customers_hold_logo(order_id uuid, content bytea, content_type text)
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
  select l.id into v_logo from public.customer_logos l
   where l.customer_id = v_order.customer_id and l.sha256 = v_sha256
     and l.content_type = customers_hold_logo.content_type
   order by l.created_at limit 1;
  if v_logo is null then
    insert into public.customer_logos (customer_id, content_type, content, sha256)
    values (v_order.customer_id, customers_hold_logo.content_type, customers_hold_logo.content, v_sha256)
    returning id into v_logo;
  end if;
  return v_logo;
end;
$$;
revoke execute on function public.customers_hold_logo(uuid, bytea, text) from public, anon, authenticated;
grant execute on function public.customers_hold_logo(uuid, bytea, text) to authenticated;

-- Makes one of the signed-in customer's own logos their profile's logo (customers.logo_url);
-- DB003 if the order or the logo is not theirs. url_base is the portal's public origin.
create function public.customers_use_logo(order_id uuid, logo_id uuid, url_base text)
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
  select l.content_type into v_type from public.customer_logos l
   where l.id = customers_use_logo.logo_id and l.customer_id = v_order.customer_id;
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
