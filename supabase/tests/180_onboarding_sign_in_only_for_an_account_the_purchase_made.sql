-- The one-time sign-in on return from checkout (orders_claim_onboarding_sign_in, 20261203000200)
-- is handed out only for an account this very purchase created: a user made at or after the
-- order, never signed in, without a role, whose customer is new and has no earlier order.
-- Staff, workers, earlier customers and anyone who has signed in before are refused (DB002),
-- so paying with their address never signs the buyer in as them.
begin;
set search_path = public, extensions;
select plan(14);

-- Each buyer: a user, customer and paid order made in this transaction (so "at the same
-- time"); the cases below move one thing at a time.
create temporary table buyers (name text primary key, order_id uuid, session_id text, user_id uuid)
  on commit drop;
insert into buyers (name, order_id)
select name, dev.create_paid_order(name || '@example.com', 'starter', '{}')
  from unnest(array['fresh', 'staff', 'worker', 'returning', 'older_user', 'older_customer',
                    'repeat', 'gone']) as name;
update buyers b set session_id = o.stripe_checkout_session_id, user_id = c.user_id
  from orders o join customers c on c.id = o.customer_id where o.id = b.order_id;

update auth.users set raw_app_meta_data = raw_app_meta_data || '{"role": "staff"}'
 where id = (select user_id from buyers where name = 'staff');
update auth.users set raw_app_meta_data = raw_app_meta_data || '{"role": "worker"}'
 where id = (select user_id from buyers where name = 'worker');
update auth.users set last_sign_in_at = now() - interval '1 minute'
 where id = (select user_id from buyers where name = 'returning');
update auth.users set created_at = now() - interval '1 second'
 where id = (select user_id from buyers where name = 'older_user');
update customers set created_at = now() - interval '1 day'
 where user_id = (select user_id from buyers where name = 'older_customer');
-- 'repeat' bought before: an earlier order, then this one.
insert into orders (customer_id, tier, status, amount_total, currency, paid_at,
                    stripe_checkout_session_id, created_at)
select c.id, 'starter', 'paid', 0, 'usd', now(), 'cs_test_earlier_repeat', now() - interval '1 hour'
  from customers c where c.user_id = (select user_id from buyers where name = 'repeat');
update auth.users set deleted_at = now()
 where id = (select user_id from buyers where name = 'gone');
grant select on buyers to service_role;

-- -- who may call it ---------------------------------------------------------------------------
select ok(not has_function_privilege('anon', 'public.orders_claim_onboarding_sign_in(text, int)', 'execute'),
  'anon may not claim an onboarding sign-in');
select ok(not has_function_privilege('authenticated', 'public.orders_claim_onboarding_sign_in(text, int)', 'execute'),
  'authenticated may not claim an onboarding sign-in');
select ok(has_function_privilege('service_role', 'public.orders_claim_onboarding_sign_in(text, int)', 'execute'),
  'the service role may');
select is((select p.prosecdef and p.proconfig @> array['search_path=""']
             from pg_proc p where p.oid = 'public.orders_claim_onboarding_sign_in(text, int)'::regprocedure),
  true, 'it is security definer with its search_path pinned');

set local role service_role;

-- -- allowed ------------------------------------------------------------------------------------
select is((select user_id from orders_claim_onboarding_sign_in(
             (select session_id from buyers where name = 'fresh'), 1800)),
  (select user_id from buyers where name = 'fresh'),
  'a never-signed-in account without a role, made for this order, is signed in once');

-- -- refused ------------------------------------------------------------------------------------
select throws_ok(format($$ select * from orders_claim_onboarding_sign_in(%L, 1800) $$,
                        (select session_id from buyers where name = 'staff')),
  'DB002', null, 'paying with a staff address does not sign in as staff');
select throws_ok(format($$ select * from orders_claim_onboarding_sign_in(%L, 1800) $$,
                        (select session_id from buyers where name = 'worker')),
  'DB002', null, 'paying with the worker account''s address does not sign in as the worker');
select throws_ok(format($$ select * from orders_claim_onboarding_sign_in(%L, 1800) $$,
                        (select session_id from buyers where name = 'returning')),
  'DB002', null, 'an account that has signed in before is not signed in from checkout');
select throws_ok(format($$ select * from orders_claim_onboarding_sign_in(%L, 1800) $$,
                        (select session_id from buyers where name = 'older_user')),
  'DB002', null, 'an account older than the order is not signed in from checkout');
select throws_ok(format($$ select * from orders_claim_onboarding_sign_in(%L, 1800) $$,
                        (select session_id from buyers where name = 'older_customer')),
  'DB002', null, 'a customer older than the order is not signed in from checkout');
select throws_ok(format($$ select * from orders_claim_onboarding_sign_in(%L, 1800) $$,
                        (select session_id from buyers where name = 'repeat')),
  'DB002', null, 'a customer with an earlier order is not signed in from checkout');
select throws_ok(format($$ select * from orders_claim_onboarding_sign_in(%L, 1800) $$,
                        (select session_id from buyers where name = 'gone')),
  'DB002', null, 'a deleted account is not signed in');
select throws_ok(format($$ select * from orders_claim_onboarding_sign_in(%L, 1800) $$,
                        (select session_id from buyers where name = 'fresh')),
  'DB002', null, 'the fresh account''s chance is spent once used');

reset role;
select is((select count(*)::int from orders o join buyers b on b.order_id = o.id
            where o.onboarding_signed_in_at is not null),
  1, 'only the allowed claim was recorded');

select * from finish();
rollback;
