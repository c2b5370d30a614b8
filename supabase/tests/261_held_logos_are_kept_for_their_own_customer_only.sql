-- 20261207000310: a customer holds an upload for their own order without touching their
-- profile's logo; the same bytes are held once; the held logo becomes the profile's logo only
-- for its own customer: another customer's logo id, or another customer's order, is refused as
-- not found; anon may do none of it.
begin;
set search_path = public, extensions;
select plan(10);

select dev.create_paid_order('alice@example.com', 'starter', '{}') as alice_order \gset
select dev.create_paid_order('bob@example.com', 'starter', '{}') as bob_order \gset
select user_id as alice from customers where email = 'alice@example.com' \gset
select user_id as bob from customers where email = 'bob@example.com' \gset

select ok(not has_function_privilege('anon', 'public.customers_hold_logo(uuid, bytea, text)', 'execute')
          and not has_function_privilege('anon', 'public.customers_use_logo(uuid, uuid, text)', 'execute'),
  'anon may neither hold nor use a logo');

select dev.impersonate(:'alice');
select customers_hold_logo(:'alice_order', '\x89504e470d0a1a0a01'::bytea, 'image/png') as alice_logo \gset
select is((select logo_url from customers where user_id = :'alice'), null,
  'holding a logo leaves the profile''s logo alone');
select is(customers_hold_logo(:'alice_order', '\x89504e470d0a1a0a01'::bytea, 'image/png'), :'alice_logo'::uuid,
  'the same upload again is held once');
select throws_ok(format($$ select customers_hold_logo(%L, '\x00'::bytea, 'text/html') $$, :'alice_order'),
  'DB005', 'logo must be a PNG, JPEG or WebP image', 'a type other than an image is refused');
select throws_ok(format($$ select customers_hold_logo(%L, '\x89504e470d0a1a0a'::bytea, 'image/png') $$, :'bob_order'),
  'DB003', null, 'Alice cannot hold a logo on Bob''s order');

reset role;
select dev.impersonate(:'bob');
select customers_hold_logo(:'bob_order', '\x89504e470d0a1a0a02'::bytea, 'image/png') as bob_logo \gset
select throws_ok(format($$ select customers_use_logo(%L, %L, 'http://127.0.0.1:8300') $$, :'bob_order', :'alice_logo'),
  'DB003', format('logo %s not found', :'alice_logo'), 'Bob cannot use Alice''s logo, even knowing its id');
select is((select count(*)::int from customer_logos where id = :'alice_logo'), 0,
  'nor read it');
select is(customers_use_logo(:'bob_order', :'bob_logo', 'http://127.0.0.1:8300'),
  format('http://127.0.0.1:8300/logos/%s.png', :'bob_logo'), 'Bob uses his own held logo');
select is((select logo_url from customers where user_id = :'bob'),
  format('http://127.0.0.1:8300/logos/%s.png', :'bob_logo'), 'and it is his profile''s logo now');
select throws_ok(format($$ select customers_use_logo(%L, %L, 'http://x/y') $$, :'bob_order', :'bob_logo'),
  'DB005', 'url_base must be an http(s) origin without a path', 'a url base with a path is refused');

select * from finish();
rollback;
