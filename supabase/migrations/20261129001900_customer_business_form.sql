-- Why: the customer portal's writes. A signed-in customer saves the Business Info Form for one
-- of their paid orders through ONE function that checks ownership, updates the customer row
-- (the constraints of 20261129000300 stay the last word on every field) and enqueues the job
-- once every required field is present — never a second job for the same order. Alongside:
-- the maintained list of business categories (one place, read by the portal and enforced
-- here by a foreign key), uploaded logos kept in the database so workers can fetch them by an
-- unguessable URL, and the one-time sign-in a buyer gets when returning from Stripe Checkout.

-- -- Business categories ----------------------------------------------------------------------
-- The only place the list lives: the portal renders its select from this table and the
-- customers.category foreign key refuses anything else. directories.json's `categories` must
-- use these slugs too (tests/test_portal_business_categories.py checks it). To add one, write
-- a migration that inserts it.
create table public.business_categories (
  slug text primary key check (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' and char_length(slug) <= 40),
  label text not null unique check (btrim(label) <> '' and char_length(label) <= 80),
  position int not null unique check (position > 0)
);
comment on table public.business_categories is
  'The business categories a customer may pick on the Business Info Form (slug stored in customers.category, label shown). Maintained by migrations; directories.json categories use the same slugs.';

insert into public.business_categories (slug, label, position) values
  ('accountant', 'Accountant', 10),
  ('automotive', 'Automotive repair and service', 20),
  ('bakery', 'Bakery', 30),
  ('bar', 'Bar or pub', 40),
  ('beauty-salon', 'Beauty salon', 50),
  ('bookshop', 'Bookshop', 60),
  ('butcher', 'Butcher', 70),
  ('cafe', 'Café', 80),
  ('car-dealer', 'Car dealer', 90),
  ('childcare', 'Childcare', 100),
  ('cleaning', 'Cleaning service', 110),
  ('clothing-store', 'Clothing store', 120),
  ('construction', 'Construction and builders', 130),
  ('consulting', 'Business consulting', 140),
  ('dentist', 'Dentist', 150),
  ('doctor', 'Doctor or clinic', 160),
  ('electrician', 'Electrician', 170),
  ('estate-agent', 'Estate agent', 180),
  ('event-venue', 'Event venue', 190),
  ('fitness', 'Gym and fitness', 200),
  ('florist', 'Florist', 210),
  ('furniture-store', 'Furniture store', 220),
  ('gardener', 'Gardener and landscaping', 230),
  ('grocery', 'Grocery store', 240),
  ('hair-salon', 'Hair salon', 250),
  ('hardware-store', 'Hardware store', 260),
  ('hotel', 'Hotel or guest house', 270),
  ('insurance', 'Insurance agency', 280),
  ('it-services', 'IT services', 290),
  ('jeweller', 'Jeweller', 300),
  ('lawyer', 'Lawyer', 310),
  ('locksmith', 'Locksmith', 320),
  ('marketing', 'Marketing agency', 330),
  ('optician', 'Optician', 340),
  ('painter', 'Painter and decorator', 350),
  ('pet-services', 'Pet grooming and care', 360),
  ('pharmacy', 'Pharmacy', 370),
  ('photographer', 'Photographer', 380),
  ('physiotherapist', 'Physiotherapist', 390),
  ('plumber', 'Plumber', 400),
  ('printing', 'Printing and copy shop', 410),
  ('removals', 'Removals and storage', 420),
  ('restaurant', 'Restaurant', 430),
  ('roofer', 'Roofer', 440),
  ('school', 'School or tutoring', 450),
  ('spa', 'Spa and massage', 460),
  ('takeaway', 'Takeaway', 470),
  ('tattoo-studio', 'Tattoo studio', 480),
  ('travel-agent', 'Travel agent', 490),
  ('veterinarian', 'Veterinarian', 500),
  ('wedding-services', 'Wedding services', 510),
  ('other', 'Other', 10000);

alter table public.business_categories enable row level security;
-- Signed-in customers only: the form is behind sign-in, and anon reads only tiers (010 guard).
grant select on public.business_categories to authenticated;
create policy "signed-in users can read the business categories"
  on public.business_categories for select to authenticated
  using (true);

alter table public.customers
  add constraint customers_category_is_listed
  foreign key (category) references public.business_categories (slug);

-- -- Logos ---------------------------------------------------------------------------------------
-- A customer's uploaded logo. Workers hold no database credentials, so the portal serves it at
-- {PORTAL_URL}/logos/<id>.<ext> (customers.logo_url); the random id is the capability.
create table public.customer_logos (
  id uuid primary key default gen_random_uuid(),
  customer_id uuid not null references public.customers (id),
  content_type text not null check (content_type in ('image/png', 'image/jpeg', 'image/webp')),
  content bytea not null check (octet_length(content) between 1 and 1048576),
  sha256 text not null check (sha256 ~ '^[0-9a-f]{64}$'),
  created_at timestamptz not null default now()
);
comment on table public.customer_logos is
  'Logos uploaded with the Business Info Form (png/jpeg/webp, at most 1 MiB). Served by the portal at /logos/<id>.<ext> for workers to upload to directories; earlier uploads are kept because job snapshots may refer to them.';
create index customer_logos_customer_idx on public.customer_logos (customer_id, created_at);

alter table public.customer_logos enable row level security;
grant select on public.customer_logos to authenticated;
create policy "customers can read their own logos"
  on public.customer_logos for select to authenticated
  using (customer_id = (select private.current_customer_id()) or (select private.is_staff()));

-- -- One-time sign-in from Stripe's return -------------------------------------------------------
alter table public.orders add column onboarding_signed_in_at timestamptz;
comment on column public.orders.onboarding_signed_in_at is
  'When the buyer was signed in by returning from Checkout with this order''s session id (allowed once, shortly after the order was recorded); later visits use the normal sign-in.';

-- The order behind a Checkout Session, for the onboarding page's "confirming payment" poll.
-- Service role only: the session id is the caller's only credential.
create function public.orders_onboarding_status(checkout_session_id text)
returns table (order_id uuid, status public.order_status, linked boolean, signed_in_at timestamptz,
               created_at timestamptz)
language sql stable security definer set search_path = ''
as $$
  select o.id, o.status, c.user_id is not null, o.onboarding_signed_in_at, o.created_at
    from public.orders o join public.customers c on c.id = o.customer_id
   where o.stripe_checkout_session_id = orders_onboarding_status.checkout_session_id
$$;
revoke execute on function public.orders_onboarding_status(text) from public;
grant execute on function public.orders_onboarding_status(text) to service_role;

-- Spends the one sign-in a Checkout Session id grants: only for a paid order whose customer is
-- linked to an Auth user, at most window_seconds after the order was recorded, and only once.
-- Returns the user to sign in; raises otherwise (DB003 unknown, DB002 used/expired/unpaid).
-- The caller signs in inside the same transaction, so a failed sign-in gives the chance back.
create function public.orders_claim_onboarding_sign_in(checkout_session_id text, window_seconds int)
returns table (order_id uuid, user_id uuid, email text)
language plpgsql security definer set search_path = ''
as $$
declare
  v_order public.orders;
  v_customer public.customers;
begin
  perform private.check_argument(orders_claim_onboarding_sign_in.window_seconds between 1 and 86400,
    'window_seconds must be between 1 and 86400');
  select o.* into v_order from public.orders o
   where o.stripe_checkout_session_id = orders_claim_onboarding_sign_in.checkout_session_id
     for update;
  if not found then
    raise exception 'no order for checkout session %', orders_claim_onboarding_sign_in.checkout_session_id
      using errcode = 'DB003';
  end if;
  select c.* into v_customer from public.customers c where c.id = v_order.customer_id;
  if v_order.status <> 'paid' then
    raise exception 'order % is %, not paid', v_order.id, v_order.status using errcode = 'DB002';
  end if;
  if v_customer.user_id is null then
    raise exception 'order % has no account yet', v_order.id using errcode = 'DB002';
  end if;
  if v_order.onboarding_signed_in_at is not null then
    raise exception 'order % already used its onboarding sign-in', v_order.id using errcode = 'DB002';
  end if;
  if v_order.created_at < now() - make_interval(secs => orders_claim_onboarding_sign_in.window_seconds) then
    raise exception 'order % onboarding sign-in window has passed', v_order.id using errcode = 'DB002';
  end if;
  update public.orders o set onboarding_signed_in_at = now() where o.id = v_order.id;
  perform private.audit('user:' || v_customer.user_id::text, 'order.onboarding_signed_in', null,
    null, null, null, jsonb_build_object('order_id', v_order.id));
  return query select v_order.id, v_customer.user_id, v_customer.email;
end;
$$;
revoke execute on function public.orders_claim_onboarding_sign_in(text, int) from public;
grant execute on function public.orders_claim_onboarding_sign_in(text, int) to service_role;

-- -- Saving the Business Info Form -----------------------------------------------------------------
-- The order, if it belongs to the signed-in customer (locked); DB003 otherwise, so another
-- customer's order looks exactly like one that does not exist.
create function private.own_order_for_update(order_id uuid) returns public.orders
language plpgsql set search_path = ''
as $$
declare
  v_customer uuid := private.current_customer_id();
  v_order public.orders;
begin
  select o.* into v_order from public.orders o
   where o.id = own_order_for_update.order_id and o.customer_id = v_customer
     for update;
  if v_customer is null or not found then
    raise exception 'order % not found', own_order_for_update.order_id using errcode = 'DB003';
  end if;
  return v_order;
end;
$$;

-- Stores a logo for the signed-in customer's order and points customers.logo_url at it.
-- url_base is the portal's public origin; the path is ours, so the URL always serves this row.
create function public.customers_save_logo(
  order_id uuid, content bytea, content_type text, url_base text
) returns text
language plpgsql security definer set search_path = ''
as $$
declare
  v_order public.orders;
  v_logo uuid;
  v_url text;
begin
  perform private.check_argument(customers_save_logo.url_base ~ '^https?://[^\s/?#]+$',
    'url_base must be an http(s) origin without a path');
  perform private.check_argument(customers_save_logo.content_type in ('image/png', 'image/jpeg', 'image/webp'),
    'logo must be a PNG, JPEG or WebP image');
  perform private.check_argument(octet_length(customers_save_logo.content) between 1 and 1048576,
    'logo must be at most 1 MiB');
  v_order := private.own_order_for_update(customers_save_logo.order_id);
  insert into public.customer_logos (customer_id, content_type, content, sha256)
  values (v_order.customer_id, customers_save_logo.content_type, customers_save_logo.content,
          encode(sha256(customers_save_logo.content), 'hex'))
  returning id into v_logo;
  v_url := customers_save_logo.url_base || '/logos/' || v_logo::text || '.'
    || case customers_save_logo.content_type when 'image/png' then 'png'
                                             when 'image/jpeg' then 'jpg' else 'webp' end;
  update public.customers c set logo_url = v_url where c.id = v_order.customer_id;
  return v_url;
end;
$$;
revoke execute on function public.customers_save_logo(uuid, bytea, text, text) from public;
grant execute on function public.customers_save_logo(uuid, bytea, text, text) to authenticated;

-- Saves the form for one of the signed-in customer's paid orders and enqueues its job when the
-- business is complete. `business` holds the form's fields (a missing key clears the field;
-- logo_url is kept unless remove_logo). Re-saving once the job exists updates the customer
-- (their profile for later orders) and leaves the job alone: one job per order, its snapshot
-- frozen at enqueue.
-- Returns {customer_id, job_id, job_created, missing: [...]}.
create function public.customers_save_business(order_id uuid, business jsonb, remove_logo boolean default false)
returns jsonb
language plpgsql security definer set search_path = ''
as $$
declare
  v_order public.orders;
  v_unknown text;
  v_job public.jobs;
  v_missing text[];
  v_created boolean := false;
begin
  perform private.check_argument(jsonb_typeof(customers_save_business.business) = 'object',
    'business must be a JSON object');
  select k into v_unknown from jsonb_object_keys(customers_save_business.business) as k
   where k not in ('business_name', 'street_address', 'city', 'region', 'postal_code', 'country',
                   'phone', 'website', 'category', 'hours', 'tagline', 'description', 'social_links')
   limit 1;
  perform private.check_argument(v_unknown is null, format('business.%s is not a form field', v_unknown));
  perform private.check_argument(
    jsonb_typeof(coalesce(customers_save_business.business -> 'social_links', '{}')) = 'object'
      and not exists (select 1 from jsonb_each(coalesce(customers_save_business.business -> 'social_links', '{}')) s
                       where jsonb_typeof(s.value) <> 'string' or (s.value #>> '{}') !~ '^https://\S+$'),
    'social_links must map each network to an https URL');

  v_order := private.own_order_for_update(customers_save_business.order_id);
  if v_order.status <> 'paid' then
    raise exception 'order % is %: its business info can no longer be submitted', v_order.id, v_order.status
      using errcode = 'DB002';
  end if;

  update public.customers c set
    business_name = nullif(btrim(customers_save_business.business ->> 'business_name'), ''),
    street_address = nullif(btrim(customers_save_business.business ->> 'street_address'), ''),
    city = nullif(btrim(customers_save_business.business ->> 'city'), ''),
    region = nullif(btrim(customers_save_business.business ->> 'region'), ''),
    postal_code = nullif(btrim(customers_save_business.business ->> 'postal_code'), ''),
    country = nullif(btrim(customers_save_business.business ->> 'country'), ''),
    phone = nullif(btrim(customers_save_business.business ->> 'phone'), ''),
    website = nullif(btrim(customers_save_business.business ->> 'website'), ''),
    category = nullif(btrim(customers_save_business.business ->> 'category'), ''),
    hours = case when jsonb_typeof(customers_save_business.business -> 'hours') = 'object' then customers_save_business.business -> 'hours' end,
    tagline = nullif(btrim(customers_save_business.business ->> 'tagline'), ''),
    description = nullif(btrim(customers_save_business.business ->> 'description'), ''),
    social_links = coalesce(customers_save_business.business -> 'social_links', '{}'),
    logo_url = case when customers_save_business.remove_logo then null else c.logo_url end
   where c.id = v_order.customer_id;

  select j.* into v_job from public.jobs j where j.order_id = v_order.id;
  select private.business_missing_fields(private.customer_business(c)) into v_missing
    from public.customers c where c.id = v_order.customer_id;
  if v_job.id is null and cardinality(v_missing) = 0 then
    v_job := public.jobs_enqueue(v_order.id);
    v_created := true;
  end if;
  return jsonb_build_object('customer_id', v_order.customer_id, 'job_id', v_job.id,
    'job_created', v_created, 'missing', to_jsonb(v_missing));
end;
$$;
revoke execute on function public.customers_save_business(uuid, jsonb, boolean) from public;
grant execute on function public.customers_save_business(uuid, jsonb, boolean) to authenticated;
