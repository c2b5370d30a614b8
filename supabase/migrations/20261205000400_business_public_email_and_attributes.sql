-- Why: what a directory publishes must be what the customer entered for publishing.
-- 1. The job's business snapshot carried customers.email — the buyer's sign-in address,
--    typed on Stripe's checkout page — and recipes filled it into directories' "email"
--    fields, so a buyer's private address was published as the business's. The business's
--    public email is now its own optional form field (customers.public_email); the snapshot
--    carries it and never the sign-in address.
-- 2. Recipes ticked "takeaway" and "storefront" as constants, so a plumber was listed as
--    offering takeaway. What a business offers is now entered by the customer
--    (customers.attributes: each attribute true, false, or absent = not said), and a recipe
--    may tick an attribute box only from it (worker/recipe.py refuses a constant).
-- Snapshots frozen before this migration keep their `email` key; the worker's Business
-- model no longer has that field and drops it, so no pending job can publish it either.

-- The attributes a customer may state, one list: the form, the Business model
-- (dbolt/business.py ATTRIBUTES) and the recipes use these names.
create function private.business_attributes_are_valid(attributes jsonb) returns boolean
language sql immutable strict set search_path = ''
as $$
  select jsonb_typeof(attributes) = 'object'
    and not exists (
      select 1 from jsonb_each(attributes) as a(name, value)
       where a.name not in ('storefront', 'service_area', 'takeaway', 'delivery', 'catering',
                            'free_wifi')
          or jsonb_typeof(a.value) <> 'boolean'
    )
$$;
-- CHECK constraints run with the writer's privileges: the service role writes customers
-- directly; customers write only through customers_save_business (security definer).
revoke execute on function private.business_attributes_are_valid(jsonb) from public;
grant execute on function private.business_attributes_are_valid(jsonb) to service_role;

alter table public.customers
  add column public_email text,
  add column attributes jsonb not null default '{}',
  add constraint customers_public_email_is_an_address
    check (public_email ~ '^[^@\s]+@[^@\s]+\.[^@\s]+$' and char_length(public_email) <= 254),
  add constraint customers_attributes_are_known_booleans
    check (private.business_attributes_are_valid(attributes));
comment on column public.customers.public_email is
  'The email address directories may publish for the business (optional). Never the sign-in address in customers.email.';
comment on column public.customers.attributes is
  'What the business offers, as the customer stated it: {"storefront": true, "takeaway": false, …}; an absent key means not stated, and nothing is ticked for it.';

-- What a worker submits, frozen into each job at enqueue. From 20261129000300, with
-- public_email and attributes, and without the sign-in email.
create or replace function private.customer_business(c public.customers) returns jsonb
language sql stable set search_path = ''
as $$
  select jsonb_strip_nulls(jsonb_build_object(
    'business_name', c.business_name, 'street_address', c.street_address, 'city', c.city,
    'region', c.region, 'postal_code', c.postal_code, 'country', c.country,
    'phone', c.phone, 'website', c.website, 'public_email', c.public_email,
    'category', c.category, 'hours', c.hours, 'attributes', c.attributes,
    'logo_url', c.logo_url, 'tagline', c.tagline, 'description', c.description,
    'social_links', c.social_links
  ))
$$;

-- From 20261129001900, taking public_email and attributes as form fields.
create or replace function public.customers_save_business(order_id uuid, business jsonb, remove_logo boolean default false)
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
                   'phone', 'website', 'public_email', 'category', 'hours', 'attributes',
                   'tagline', 'description', 'social_links')
   limit 1;
  perform private.check_argument(v_unknown is null, format('business.%s is not a form field', v_unknown));
  perform private.check_argument(
    jsonb_typeof(coalesce(customers_save_business.business -> 'social_links', '{}')) = 'object'
      and not exists (select 1 from jsonb_each(coalesce(customers_save_business.business -> 'social_links', '{}')) s
                       where jsonb_typeof(s.value) <> 'string' or (s.value #>> '{}') !~ '^https://\S+$'),
    'social_links must map each network to an https URL');
  perform private.check_argument(
    private.business_attributes_are_valid(coalesce(customers_save_business.business -> 'attributes', '{}')),
    'attributes must map known attributes (storefront, service_area, takeaway, delivery, catering, free_wifi) to true or false');

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
    public_email = lower(nullif(btrim(customers_save_business.business ->> 'public_email'), '')),
    category = nullif(btrim(customers_save_business.business ->> 'category'), ''),
    hours = case when jsonb_typeof(customers_save_business.business -> 'hours') = 'object' then customers_save_business.business -> 'hours' end,
    attributes = coalesce(customers_save_business.business -> 'attributes', '{}'),
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
revoke execute on function public.customers_save_business(uuid, jsonb, boolean) from public, anon;
grant execute on function public.customers_save_business(uuid, jsonb, boolean) to authenticated;
