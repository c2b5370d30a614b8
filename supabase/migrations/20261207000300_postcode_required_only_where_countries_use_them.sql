-- Why: every business had to have a postal code, so a business in a country without postcodes
-- (the United Arab Emirates, Qatar, Jamaica…) could not be submitted without inventing one.
-- A postcode is now required only in the countries whose addresses need one, as Google's
-- address data says: the portal's rules (dbolt/postcodes.py) come from the same data, and
-- tests/integration/test_portal_business_postcodes.py checks this list against it. Elsewhere
-- it is optional; one entered is still stored and submitted.

-- The countries (ISO 3166-1 alpha-2) whose addresses need a postcode.
create function private.country_requires_postcode(country text) returns boolean
language sql immutable set search_path = ''
as $$
  -- No country at all: the postcode is reported missing with it, as before.
  select country is null or country = any (array[
    'AS', 'AT', 'AU', 'AX', 'BE', 'BL', 'BR', 'CA', 'CH', 'CN', 'CZ', 'DE', 'DK', 'EE', 'ES',
    'FI', 'FK', 'FM', 'FR', 'GB', 'GF', 'GG', 'GL', 'GP', 'GR', 'GS', 'GU', 'HU', 'IM', 'IN',
    'IO', 'IT', 'JE', 'JP', 'KR', 'LI', 'LT', 'LU', 'LV', 'MF', 'MH', 'MP', 'MQ', 'MX', 'MY',
    'NC', 'NL', 'NO', 'NZ', 'PF', 'PL', 'PM', 'PN', 'PR', 'PT', 'PW', 'RE', 'RO', 'RU', 'SE',
    'SG', 'SH', 'SJ', 'SK', 'SM', 'TC', 'TR', 'TW', 'UA', 'US', 'VI', 'WF', 'YT', 'ZA'
  ])
$$;
revoke execute on function private.country_requires_postcode(text) from public, anon, authenticated;
-- business_missing_fields calls it under the caller's role (customers' view, CHECK constraints).
grant execute on function private.country_requires_postcode(text) to authenticated, service_role;

-- As in 20261129000300, with the postcode required only where the country uses postcodes.
create or replace function private.business_missing_fields(business jsonb) returns text[]
language sql immutable set search_path = ''
as $$
  select coalesce(array_agg(field order by position), '{}')
  from unnest(array[
    'business_name', 'street_address', 'city', 'region', 'postal_code', 'country',
    'phone', 'website', 'category', 'hours'
  ]) with ordinality as required(field, position)
  where (field <> 'postal_code' or private.country_requires_postcode(business ->> 'country'))
    and (business is null
     or jsonb_typeof(business -> field) is null
     or jsonb_typeof(business -> field) = 'null'
     or (jsonb_typeof(business -> field) = 'string' and btrim(business ->> field) = '')
     or (field = 'hours' and business -> field = '{}'::jsonb))
$$;
