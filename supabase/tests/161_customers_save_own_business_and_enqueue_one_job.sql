-- The Business Info Form's SQL (20261129001900): a signed-in customer saves their own paid
-- order's form through customers_save_business, which enqueues exactly one job once the
-- business is complete; another customer's order is "not found"; the constraints and the
-- category list refuse bad values; logos; the one-time onboarding sign-in (service role only).
begin;
set search_path = public, extensions;
select plan(30);

select dev.create_paid_order('alice@example.com', 'starter', '{}') as alice_order \gset
select dev.create_paid_order('bob@example.com', 'starter') as bob_order \gset
select user_id as alice from customers where email = 'alice@example.com' \gset
select user_id as bob from customers where email = 'bob@example.com' \gset
select dev.sample_business() - 'tagline' - 'description' as complete \gset
select (dev.sample_business() - 'phone' - 'hours') as partial \gset

-- -- privileges -------------------------------------------------------------------------------
select ok(has_function_privilege('authenticated', 'public.customers_save_business(uuid, jsonb, boolean)', 'execute'),
  'authenticated may call customers_save_business');
select ok(not has_function_privilege('anon', 'public.customers_save_business(uuid, jsonb, boolean)', 'execute'),
  'anon may not call customers_save_business');
select ok(not has_function_privilege('authenticated', 'public.orders_claim_onboarding_sign_in(text, int)', 'execute'),
  'authenticated may not claim an onboarding sign-in (service role only)');
select ok(not has_function_privilege('anon', 'public.orders_onboarding_status(text)', 'execute'),
  'anon may not look orders up by checkout session');
select ok(not has_table_privilege('anon', 'public.business_categories', 'select'),
  'anon cannot read the category list');

-- -- saving as Alice -----------------------------------------------------------------------------
select dev.impersonate(:'alice');
select is((select count(*)::int from business_categories where slug in ('bakery', 'other')), 2,
  'a signed-in customer reads the category list');

select is(customers_save_business(:'alice_order', :'partial') -> 'job_id', 'null'::jsonb,
  'an incomplete form is saved without a job');
select is(customers_save_business(:'alice_order', :'partial') -> 'missing', '["phone", "hours"]'::jsonb,
  'and says which required fields are missing, in form order');
select is((select city from customers where user_id = :'alice'), 'Springfield',
  'the fields that were given are stored');

select throws_ok(format($$ select customers_save_business(%L, %L::jsonb || '{"phone": "217-555-0123"}') $$,
    :'alice_order', :'complete'),
  '23514', null, 'a phone that is not E.164 is refused by the constraint');
select throws_ok(format($$ select customers_save_business(%L, %L::jsonb || '{"category": "bakeries"}') $$,
    :'alice_order', :'complete'),
  '23503', null, 'a category not in business_categories is refused');
select throws_ok(format($$ select customers_save_business(%L, %L::jsonb || '{"hours": {"mon": []}}') $$,
    :'alice_order', :'complete'),
  '23514', null, 'hours without all seven days are refused');
select throws_ok(format($$ select customers_save_business(%L, %L::jsonb || '{"owner": "me"}') $$,
    :'alice_order', :'complete'),
  'DB005', 'business.owner is not a form field', 'an unknown key is refused, naming it');
select throws_ok(format($$ select customers_save_business(%L, %L::jsonb || '{"social_links": {"x": "javascript:alert(1)"}}') $$,
    :'alice_order', :'complete'),
  'DB005', 'social_links must map each network to an https URL', 'a social link that is not an https URL is refused');
select throws_ok(format($$ select customers_save_business(%L, %L) $$, :'bob_order', :'complete'),
  'DB003', null, 'Bob''s order is not found for Alice');

select customers_save_business(:'alice_order', :'complete') as first_save \gset
select is((:'first_save'::jsonb ->> 'job_created')::boolean, true, 'a complete form enqueues the job');
select is((select status::text from jobs where order_id = :'alice_order'), 'pending',
  'the job is pending');
select customers_save_business(:'alice_order', :'complete'::jsonb || '{"city": "Shelbyville"}') as second_save \gset
select is(:'second_save'::jsonb ->> 'job_id', :'first_save'::jsonb ->> 'job_id',
  're-saving answers the same job');
select is((:'second_save'::jsonb ->> 'job_created')::boolean, false, 'and does not create another');
select is((select city from customers where user_id = :'alice'), 'Shelbyville',
  're-saving still updates the customer');

-- -- logos -----------------------------------------------------------------------------------
select customers_save_logo(:'alice_order', '\x89504e470d0a1a0a'::bytea, 'image/png', 'http://127.0.0.1:8300') as logo_url \gset
select matches(:'logo_url'::text, '^http://127\.0\.0\.1:8300/logos/[0-9a-f-]{36}\.png$', 'the logo URL is ours');
select is((select logo_url from customers where user_id = :'alice'), :'logo_url',
  'the customer points at the new logo');
select throws_ok(format($$ select customers_save_logo(%L, '\x00'::bytea, 'image/gif', 'http://127.0.0.1:8300') $$, :'alice_order'),
  'DB005', 'logo must be a PNG, JPEG or WebP image', 'another image type is refused');
select throws_ok(format($$ select customers_save_logo(%L, '\x00'::bytea, 'image/png', 'http://evil.example/x') $$, :'alice_order'),
  'DB005', null, 'a URL base with a path is refused');
select is((customers_save_business(:'alice_order', :'complete', true) -> 'job_created')::text, 'false',
  'remove_logo saves');
select is((select logo_url from customers where user_id = :'alice'), null, 'and clears logo_url');
reset role;

select dev.impersonate(:'bob');
select is((select count(*)::int from customer_logos), 0, 'Bob cannot read Alice''s logos');
reset role;

-- -- refunded orders, onboarding sign-in -----------------------------------------------------------
update orders set status = 'refunded' where id = :'bob_order';
select dev.impersonate(:'bob');
select throws_ok(format($$ select customers_save_business(%L, %L) $$, :'bob_order', :'complete'),
  'DB002', null, 'a refunded order''s form can no longer be submitted');
reset role;

select stripe_checkout_session_id as alice_session from orders where id = :'alice_order' \gset
set local role service_role;
select is((select user_id from orders_claim_onboarding_sign_in(:'alice_session', 1800)), :'alice'::uuid,
  'the first onboarding sign-in returns the buyer');
select throws_ok(format($$ select * from orders_claim_onboarding_sign_in(%L, 1800) $$, :'alice_session'),
  'DB002', null, 'a second one is refused');
reset role;

select * from finish();
rollback;
