-- Fixtures for local runs, tests, benchmarks and the demo. Never pushed to production
-- (`supabase db push` applies seed.sql only with --include-seed). Everything lives in the
-- `dev` schema so it is obvious in any query plan or grant list that it is not product code.

create schema if not exists dev;
revoke all on schema dev from public;

-- A complete business that every enabled directory accepts.
create or replace function dev.sample_business() returns jsonb
language sql immutable set search_path = ''
as $$
  select jsonb_build_object(
    'business_name', 'Bluebird Bakery',
    'street_address', '12 Orchard Lane',
    'city', 'Springfield',
    'region', 'IL',
    'postal_code', '62701',
    'country', 'US',
    'phone', '+12175550123',
    'website', 'https://bluebird-bakery.example',
    'public_email', 'hello@bluebird-bakery.example',
    'category', 'bakery',
    -- A bakery customers visit and take food away from; it said nothing about the rest.
    'attributes', jsonb_build_object('storefront', true, 'takeaway', true, 'delivery', false),
    'hours', jsonb_build_object(
      'mon', jsonb_build_array(jsonb_build_object('open', '07:00', 'close', '15:00')),
      'tue', jsonb_build_array(jsonb_build_object('open', '07:00', 'close', '15:00')),
      'wed', jsonb_build_array(jsonb_build_object('open', '07:00', 'close', '15:00')),
      'thu', jsonb_build_array(jsonb_build_object('open', '07:00', 'close', '15:00')),
      'fri', jsonb_build_array(jsonb_build_object('open', '07:00', 'close', '12:00'),
                               jsonb_build_object('open', '13:00', 'close', '18:00')),
      'sat', jsonb_build_array(jsonb_build_object('open', '08:00', 'close', '13:00')),
      'sun', jsonb_build_array()
    ),
    'tagline', 'Bread worth getting up for',
    'description', 'A neighbourhood bakery baking sourdough and pastries since 2009.'
  )
$$;

-- An Auth user (as GoTrue would create it), its customer and a paid order for `tier`.
-- `business` null means the complete sample business; pass '{}' for a customer who has
-- not filled the form yet. Re-using an email re-uses its user and customer.
create or replace function dev.create_paid_order(email text, tier text, business jsonb default null)
returns uuid
language plpgsql set search_path = ''
as $$
declare
  v_email text := lower(create_paid_order.email);
  v_user uuid;
  v_customer uuid;
  v_order uuid;
  v_business jsonb := coalesce(create_paid_order.business, dev.sample_business());
begin
  select u.id into v_user from auth.users u where u.email = v_email;
  if not found then
    insert into auth.users (instance_id, id, aud, role, email, email_confirmed_at,
                            raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
    values ('00000000-0000-0000-0000-000000000000', gen_random_uuid(), 'authenticated',
            'authenticated', v_email, now(),
            '{"provider": "email", "providers": ["email"]}', '{}', now(), now())
    returning id into v_user;
  end if;

  insert into public.customers as c (
    user_id, email, business_name, street_address, city, region, postal_code, country, phone,
    website, public_email, category, hours, attributes, logo_url, tagline, description,
    social_links
  ) values (
    v_user, v_email, v_business ->> 'business_name', v_business ->> 'street_address',
    v_business ->> 'city', v_business ->> 'region', v_business ->> 'postal_code',
    v_business ->> 'country', v_business ->> 'phone', v_business ->> 'website',
    v_business ->> 'public_email', v_business ->> 'category', v_business -> 'hours',
    coalesce(v_business -> 'attributes', '{}'), v_business ->> 'logo_url',
    v_business ->> 'tagline', v_business ->> 'description',
    coalesce(v_business -> 'social_links', '{}')
  )
  on conflict on constraint customers_email_key do update set user_id = excluded.user_id
  returning c.id into v_customer;

  insert into public.orders (customer_id, tier, status, amount_total, currency, paid_at,
                             stripe_checkout_session_id)
  values (v_customer, create_paid_order.tier, 'paid', 0, 'usd', now(),
          'cs_test_dev_' || replace(gen_random_uuid()::text, '-', ''))
  returning id into v_order;
  return v_order;
end;
$$;

-- Signs the current transaction in as a user, exactly as PostgREST does for a request.
create or replace function dev.impersonate(user_id uuid, app_role text default null)
returns void
language plpgsql set search_path = ''
as $$
declare
  v_claims jsonb := jsonb_build_object(
    'sub', impersonate.user_id, 'role', 'authenticated', 'aud', 'authenticated',
    'app_metadata', jsonb_strip_nulls(jsonb_build_object('provider', 'email', 'role', impersonate.app_role))
  );
begin
  perform set_config('request.jwt.claims', v_claims::text, true);
  perform set_config('role', 'authenticated', true);
end;
$$;
