-- The attack: on a hosted project anyone holding the anon key (it ships in every browser)
-- calls `rpc/jobs_next`, `rpc/stripe_events_apply`, `rpc/directories_sync`… through the Data
-- API, which runs them as anon (or as a signed-in customer, authenticated). With the hosted
-- default privileges that worked; each call must be refused with 42501 (permission denied),
-- while what the browser roles are meant to do still works.
begin;
set search_path = public, extensions;
select plan(17);

select directories_sync($$[
  {"id": "dir-a", "name": "A", "homepage": "http://127.0.0.1:9/a", "tier": "starter", "priority": 1, "mode": "auto", "enabled": true}
]$$::jsonb) \gset
select dev.create_paid_order('victim@example.com', 'starter') as victim_order \gset
select user_id as victim_user from customers where email = 'victim@example.com' \gset
select id as victim_job from jobs_enqueue(:'victim_order') \gset
select dev.sample_business() as business \gset

set local role anon;
select set_config('request.jwt.claims', '{"role":"anon"}', true) \gset
select throws_ok($$ select * from jobs_next('x', 60) $$, '42501', NULL,
  'anon calling jobs_next (steal a customer''s job and its data) is refused');
select throws_ok($$ select stripe_events_apply('{"id":"evt_forged","type":"checkout.session.completed"}') $$,
  '42501', NULL, 'anon calling stripe_events_apply (forge a payment) is refused');
select throws_ok($$ select directories_sync('[]') $$, '42501', NULL,
  'anon calling directories_sync (disable every directory) is refused');
select throws_ok($$ select tiers_throttle('starter', 0, 'anon') $$, '42501', NULL,
  'anon calling tiers_throttle (stop dispatch) is refused');
select throws_ok(format($$ select jobs_cancel(%L, 'anon') $$, :'victim_job'), '42501', NULL,
  'anon calling jobs_cancel on a customer''s job is refused');
select throws_ok($$ select * from notifications_claim(10, 60) $$, '42501', NULL,
  'anon calling notifications_claim (read customers'' e-mails) is refused');
select throws_ok(format($$ select customers_link_user(gen_random_uuid(), %L) $$, :'victim_user'), '42501', NULL,
  'anon calling customers_link_user (take over a customer record) is refused');
select throws_ok($$ select * from orders_claim_onboarding_sign_in('cs_test_x', 600) $$, '42501', NULL,
  'anon calling orders_claim_onboarding_sign_in is refused');
select throws_ok($$ select staff_queue_status(120) $$, '42501', NULL,
  'anon calling a staff function is refused');
select throws_ok(format($$ select * from directory_accounts_reveal(gen_random_uuid(), 'user:%s') $$, :'victim_user'),
  '42501', NULL, 'anon calling directory_accounts_reveal (read a customer''s directory password) is refused');
select throws_ok('select * from jobs', '42501', NULL, 'anon cannot read jobs at all');
select results_eq('select name from tiers order by rank',
  $$ values ('starter'), ('growth'), ('professional'), ('enterprise') $$,
  'anon still reads the package list (the public pricing page)');
reset role;

select dev.impersonate(:'victim_user') \gset
select throws_ok($$ select * from jobs_next('x', 60) $$, '42501', NULL,
  'a signed-in customer calling jobs_next is refused');
select throws_ok($$ select metrics_totals() $$, '42501', NULL,
  'a signed-in customer calling metrics_totals is refused');
select throws_ok(format($$ select jobs_retry(%L, null, 'me') $$, :'victim_job'), '42501', NULL,
  'a signed-in customer calling jobs_retry is refused');
select results_eq('select id from jobs', format('values (%L::uuid)', :'victim_job'),
  'a signed-in customer still reads their own job');
select lives_ok(format($$ select customers_save_business(%L, %L::jsonb) $$, :'victim_order', :'business'),
  'a signed-in customer can still save their business details');
reset role;

select * from finish();
rollback;
