-- 20261207000300: a business in a country without postcodes (AE) is complete without one and
-- its job is enqueued; in a country whose addresses need one (US, GB) a missing postcode is
-- still reported missing and no job is made; a postcode given anywhere is stored.
begin;
set search_path = public, extensions;
select plan(8);

select dev.create_paid_order('dubai@example.com', 'starter', '{}') as ae_order \gset
select dev.create_paid_order('springfield@example.com', 'starter', '{}') as us_order \gset
select user_id as ae_user from customers where email = 'dubai@example.com' \gset
select user_id as us_user from customers where email = 'springfield@example.com' \gset
select dev.sample_business() - 'postal_code' as without_postcode \gset

select ok(private.country_requires_postcode('US') and private.country_requires_postcode('GB')
          and private.country_requires_postcode('CA'), 'the US, the UK and Canada require a postcode');
select ok(not private.country_requires_postcode('AE') and not private.country_requires_postcode('QA'),
  'the United Arab Emirates and Qatar do not');
select is(private.business_missing_fields(:'without_postcode'::jsonb || '{"country": "GB"}'),
  '{postal_code}'::text[], 'a UK business without a postcode is missing it');
select is(private.business_missing_fields('{}'::jsonb) @> '{postal_code,country}', true,
  'with no country at all, the postcode is reported missing with it');

select dev.impersonate(:'us_user');
select is(customers_save_business(:'us_order', :'without_postcode') -> 'missing', '["postal_code"]'::jsonb,
  'a US customer who leaves the ZIP code out gets no job, and is told it is missing');
reset role;
select dev.impersonate(:'ae_user');
select isnt(customers_save_business(:'ae_order', :'without_postcode'::jsonb
    || '{"country": "AE", "phone": "+97142000000"}') -> 'job_id', 'null'::jsonb,
  'a business in the United Arab Emirates without a postcode is complete: its job is enqueued');
reset role;
select is((select business_snapshot ? 'postal_code' from jobs where order_id = :'ae_order'), false,
  'and its snapshot has no postcode');
select dev.impersonate(:'ae_user');
select is(customers_save_business(:'ae_order', :'without_postcode'::jsonb
    || '{"country": "AE", "phone": "+97142000000", "postal_code": "12345"}') ->> 'job_created', 'false',
  'a postcode given where none is needed is still accepted');

select * from finish();
rollback;
