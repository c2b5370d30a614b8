-- What a job's snapshot publishes (20261205000400): the business's own public email, never
-- the sign-in address in customers.email; what it offers only as the customer answered
-- (true / false / absent), known attribute names only, refused by name otherwise.
begin;
set search_path = public, extensions;
select plan(12);

select dev.create_paid_order('buyer.private@example.com', 'starter', '{}') as buyer_order \gset
select user_id as buyer from customers where email = 'buyer.private@example.com' \gset
select (dev.sample_business() - 'public_email' - 'attributes') as plain \gset

select dev.impersonate(:'buyer');
select throws_ok(format($$ select customers_save_business(%L, %L::jsonb || '{"attributes": {"takeaway": "yes"}}') $$,
    :'buyer_order', :'plain'),
  'DB005', null, 'an attribute that is not true or false is refused');
select throws_ok(format($$ select customers_save_business(%L, %L::jsonb || '{"attributes": {"teleport": true}}') $$,
    :'buyer_order', :'plain'),
  'DB005', null, 'an unknown attribute is refused');
select throws_ok(format($$ select customers_save_business(%L, %L::jsonb || '{"public_email": "not an address"}') $$,
    :'buyer_order', :'plain'),
  '23514', null, 'a public email that is not an address is refused by its constraint');

-- Saved without a public email: the snapshot has no email at all.
select lives_ok(format($$ select customers_save_business(%L, %L) $$, :'buyer_order', :'plain'),
  'a business without a public email is saved and enqueued');
reset role;
select ok(not (select business_snapshot ? 'email' from jobs where order_id = :'buyer_order'),
  'the snapshot never carries the sign-in address');
select ok(not (select business_snapshot ? 'public_email' from jobs where order_id = :'buyer_order'),
  'nor a public email the customer did not give');
select ok(position('buyer.private@example.com' in (select business_snapshot::text from jobs where order_id = :'buyer_order')) = 0,
  'the sign-in address appears nowhere in the snapshot');
select is((select business_snapshot -> 'attributes' from jobs where order_id = :'buyer_order'), '{}'::jsonb,
  'nothing said about the attributes: nothing in the snapshot');

-- Given: the public email (lower-cased) and the answers, as they are.
select dev.create_paid_order('buyer.private@example.com', 'starter', '{}') as second_order \gset
select dev.impersonate(:'buyer');
select lives_ok(format($$ select customers_save_business(%L, %L::jsonb || '{"public_email": " Hello@Bakery.Example ", "attributes": {"storefront": true, "takeaway": false}}') $$,
    :'second_order', :'plain'),
  'a public email and answered attributes are saved');
reset role;
select is((select business_snapshot ->> 'public_email' from jobs where order_id = :'second_order'),
  'hello@bakery.example', 'the snapshot carries the public email');
select is((select business_snapshot -> 'attributes' from jobs where order_id = :'second_order'),
  '{"storefront": true, "takeaway": false}'::jsonb, 'and exactly the answered attributes');
select throws_ok($$ update customers set attributes = '{"takeaway": 1}' where email = 'buyer.private@example.com' $$,
  '23514', null, 'no writer can store an attribute that is not a boolean');

select * from finish();
rollback;
