-- Why: a customer is the small business that paid us; its Business Info Form lives here.
-- The rules for a well-formed business are constraints, so no writer (portal, webhook, ops
-- console) can store a malformed phone, website or opening hours.

create type public.weekday as enum ('mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun');

-- Opening hours: {"mon": [{"open": "09:00", "close": "17:00"}], "sun": [], ...}; every weekday
-- present, an empty list means closed, ranges are HH:MM with open before close.
-- strict: null hours (form not filled yet) are allowed here; completeness is checked apart.
create function private.hours_are_valid(hours jsonb) returns boolean
language sql immutable strict set search_path = ''
as $$
  select jsonb_typeof(hours) = 'object'
    and (select count(*) from jsonb_object_keys(hours)) = 7
    and not exists (
      select 1 from jsonb_each(hours) as day(name, ranges)
      where day.name not in ('mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun')
         or jsonb_typeof(day.ranges) <> 'array'
         or exists (
           select 1 from jsonb_array_elements(day.ranges) as r(slot)
           where jsonb_typeof(r.slot) <> 'object'
              or coalesce(r.slot ->> 'open', '') !~ '^([01][0-9]|2[0-3]):[0-5][0-9]$'
              or coalesce(r.slot ->> 'close', '') !~ '^([01][0-9]|2[0-4]):[0-5][0-9]$'
              or (r.slot ->> 'open') >= (r.slot ->> 'close')
         )
    )
$$;

-- The fields a directory submission cannot do without, in form order. One list, used by the
-- customers view, jobs_enqueue's error message and the jobs check constraint alike.
create function private.business_missing_fields(business jsonb) returns text[]
language sql immutable set search_path = ''
as $$
  select coalesce(array_agg(field order by position), '{}')
  from unnest(array[
    'business_name', 'street_address', 'city', 'region', 'postal_code', 'country',
    'phone', 'website', 'category', 'hours'
  ]) with ordinality as required(field, position)
  where business is null
     or jsonb_typeof(business -> field) is null
     or jsonb_typeof(business -> field) = 'null'
     or (jsonb_typeof(business -> field) = 'string' and btrim(business ->> field) = '')
     or (field = 'hours' and business -> field = '{}'::jsonb)
$$;
grant execute on function private.business_missing_fields(jsonb) to authenticated, service_role;
-- CHECK constraints run with the writer's privileges, so every role that may write customers
-- must be able to evaluate this one.
grant execute on function private.hours_are_valid(jsonb) to authenticated, service_role;

create table public.customers (
  id uuid primary key default gen_random_uuid(),
  user_id uuid unique references auth.users (id) on delete set null,
  email text not null unique,
  business_name text,
  street_address text,
  city text,
  region text,
  postal_code text,
  country text,
  phone text,
  website text,
  category text,
  hours jsonb,
  logo_url text,
  tagline text,
  description text,
  social_links jsonb not null default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint customers_email_is_lowercase check (email = lower(email) and email like '%_@_%'),
  constraint customers_country_is_iso_alpha2 check (country ~ '^[A-Z]{2}$'),
  constraint customers_phone_is_e164 check (phone ~ '^\+[1-9][0-9]{6,14}$'),
  constraint customers_website_is_http_url check (website ~ '^https?://[^\s/]+\.[^\s]+$'),
  constraint customers_hours_are_valid check (private.hours_are_valid(hours)),
  constraint customers_social_links_is_object check (jsonb_typeof(social_links) = 'object'),
  constraint customers_tagline_is_short check (char_length(tagline) <= 160),
  constraint customers_description_is_bounded check (char_length(description) <= 2000)
);
comment on table public.customers is
  'One row per paying business: its contact and the Business Info Form. user_id links the Supabase Auth user the customer signs in as.';

create trigger customers_touch_updated_at before update on public.customers
  for each row execute function private.touch_updated_at();

-- What a worker submits: the form's fields as one document, frozen into each job at enqueue.
create function private.customer_business(c public.customers) returns jsonb
language sql stable set search_path = ''
as $$
  select jsonb_strip_nulls(jsonb_build_object(
    'business_name', c.business_name, 'street_address', c.street_address, 'city', c.city,
    'region', c.region, 'postal_code', c.postal_code, 'country', c.country,
    'phone', c.phone, 'website', c.website, 'category', c.category, 'hours', c.hours,
    'logo_url', c.logo_url, 'tagline', c.tagline, 'description', c.description,
    'social_links', c.social_links, 'email', c.email
  ))
$$;

-- The customer id of the signed-in user; security definer so policies on other tables can
-- use it without granting customers to everyone.
create function private.current_customer_id() returns uuid
language sql stable security definer set search_path = ''
as $$
  select id from public.customers where user_id = auth.uid()
$$;
grant execute on function private.current_customer_id() to authenticated, service_role;

alter table public.customers enable row level security;
grant select on public.customers to authenticated;

create policy "customers can read their own record"
  on public.customers for select to authenticated
  using (user_id = (select auth.uid()) or (select private.is_staff()));
