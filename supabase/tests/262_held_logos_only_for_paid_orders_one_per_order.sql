-- 20261207000320: a logo is held only for a paid order (a refunded or unpaid one is refused
-- and stores nothing), and an order holds at most one: a new upload replaces the earlier
-- held-but-unused one, while a logo already used stays.
begin;
set search_path = public, extensions;
select plan(8);

select dev.create_paid_order('alice@example.com', 'starter', '{}') as alice_order \gset
select user_id as alice, id as alice_customer from customers where email = 'alice@example.com' \gset

select dev.impersonate(:'alice');
select customers_hold_logo(:'alice_order', '\x89504e470d0a1a0a01'::bytea, 'image/png') as first \gset
select customers_hold_logo(:'alice_order', '\x89504e470d0a1a0a02'::bytea, 'image/png') as second \gset
select customers_hold_logo(:'alice_order', '\x89504e470d0a1a0a03'::bytea, 'image/png') as third \gset
reset role;
select is((select array_agg(id) from customer_logos where customer_id = :'alice_customer'),
  array[:'third'::uuid], 'each new upload replaces the order''s earlier held one: one row, the last');

select dev.impersonate(:'alice');
select customers_use_logo(:'alice_order', :'third', 'http://127.0.0.1:8300');
select customers_hold_logo(:'alice_order', '\x89504e470d0a1a0a04'::bytea, 'image/png') as fourth \gset
select customers_hold_logo(:'alice_order', '\x89504e470d0a1a0a05'::bytea, 'image/png') as fifth \gset
reset role;
select is((select array_agg(id order by id = :'fifth') from customer_logos where customer_id = :'alice_customer'),
  array[:'third'::uuid, :'fifth'::uuid], 'a used logo stays when a later one is held; the held one is still replaced');
select is((select held_for_order from customer_logos where id = :'third'), null, 'a used logo is no longer held');

select dev.impersonate(:'alice');
select is(customers_hold_logo(:'alice_order', '\x89504e470d0a1a0a03'::bytea, 'image/png'), :'third'::uuid,
  'the bytes of a used logo are that logo');
reset role;
select is((select count(*)::int from customer_logos where customer_id = :'alice_customer'), 1,
  'and the held one it replaces is gone');

update orders set status = 'refunded' where id = :'alice_order';
select dev.impersonate(:'alice');
select throws_ok(format($$ select customers_hold_logo(%L, '\x89504e470d0a1a0a06'::bytea, 'image/png') $$, :'alice_order'),
  'DB002', null, 'a refunded order cannot hold a logo');
select throws_ok(format($$ select customers_use_logo(%L, %L, 'http://127.0.0.1:8300') $$, :'alice_order', :'third'),
  'DB002', null, 'nor use one');
reset role;
select is((select count(*)::int from customer_logos where customer_id = :'alice_customer'), 1,
  'the refused upload stored nothing');

select * from finish();
rollback;
