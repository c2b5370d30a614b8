-- jobs_enqueue: a paid order with a complete business becomes one pending job with its
-- package's directories in tier/priority order; everything else is refused and leaves no job.
begin;
set search_path = public, extensions;
select plan(32);

-- Test directories: three starter ones, a growth one (priority 0, still after every starter
-- one because cheaper tiers come first), one disabled, one for FR only, one for plumbers.
select directories_sync($$[
  {"id": "dir-a", "name": "Directory A", "homepage": "http://127.0.0.1:9/a", "tier": "starter", "priority": 1, "mode": "auto", "enabled": true},
  {"id": "dir-c", "name": "Directory C", "homepage": "http://127.0.0.1:9/c", "tier": "starter", "priority": 3, "mode": "auto", "enabled": true},
  {"id": "dir-b", "name": "Directory B", "homepage": "http://127.0.0.1:9/b", "tier": "starter", "priority": 2, "mode": "auto", "enabled": true},
  {"id": "dir-g", "name": "Directory G", "homepage": "http://127.0.0.1:9/g", "tier": "growth", "priority": 0, "mode": "auto", "enabled": true},
  {"id": "dir-off", "name": "Disabled", "homepage": "http://127.0.0.1:9/off", "tier": "starter", "priority": 0, "mode": "auto", "enabled": false},
  {"id": "dir-fr", "name": "French only", "homepage": "http://127.0.0.1:9/fr", "tier": "starter", "priority": 0, "mode": "auto", "enabled": true, "country": "FR"},
  {"id": "dir-plumb", "name": "Plumbers only", "homepage": "http://127.0.0.1:9/p", "tier": "starter", "priority": 0, "mode": "auto", "enabled": true, "categories": ["plumber"]}
]$$::jsonb) \gset

-- Allowed path -------------------------------------------------------------------------
select dev.create_paid_order('starter@example.com', 'starter') as order_s \gset
create temp table enqueued as select * from jobs_enqueue(:'order_s');

select results_eq(
  $$ select status::text, tier, order_id, worker_id, lease_token, lost_leases from enqueued $$,
  format($$ values ('pending', 'starter', %L::uuid, null::text, null::uuid, 0) $$, :'order_s'),
  'a paid, complete order becomes one pending, unleased starter job');
select is((select count(*)::int from jobs where order_id = :'order_s'), 1,
  'exactly one job row exists for the order');
select is((select customer_id from enqueued),
  (select customer_id from orders where id = :'order_s'),
  'the job belongs to the order''s customer');
select is((select business_snapshot ->> 'business_name' from enqueued), 'Bluebird Bakery',
  'the business is frozen into the job snapshot');
select is((select business_snapshot ->> 'phone' from enqueued), '+12175550123',
  'the snapshot carries the phone');
select results_eq(
  $$ select directory_id, position, status::text, attempts from job_directories
      where job_id = (select id from enqueued) order by position $$,
  $$ values ('dir-a', 1, 'queued', 0), ('dir-b', 2, 'queued', 0), ('dir-c', 3, 'queued', 0) $$,
  'starter job gets the enabled starter directories that accept it, by priority; not the growth, disabled, FR-only or plumber-only ones');

-- The snapshot is frozen: editing the form afterwards does not change the queued job.
update customers set business_name = 'Renamed Bakery'
 where id = (select customer_id from enqueued);
select is((select business_snapshot ->> 'business_name' from jobs where order_id = :'order_s'),
  'Bluebird Bakery', 'a later edit of the customer''s form does not change the job snapshot');

select dev.create_paid_order('growth@example.com', 'growth') as order_g \gset
select lives_ok(format('select jobs_enqueue(%L)', :'order_g'), 'a growth order is enqueued');
select results_eq(
  format($$ select d.directory_id, d.position from job_directories d join jobs j on j.id = d.job_id
             where j.order_id = %L order by d.position $$, :'order_g'),
  $$ values ('dir-a', 1), ('dir-b', 2), ('dir-c', 3), ('dir-g', 4) $$,
  'growth job gets starter directories first, then growth ones (tier rank before priority)');

-- The package's directory_limit caps the list.
update tiers set directory_limit = 2 where name = 'starter';
select dev.create_paid_order('limited@example.com', 'starter') as order_l \gset
select lives_ok(format('select jobs_enqueue(%L)', :'order_l'), 'starter order enqueued with a limit of 2');
select results_eq(
  format($$ select d.directory_id, d.position from job_directories d join jobs j on j.id = d.job_id
             where j.order_id = %L order by d.position $$, :'order_l'),
  $$ values ('dir-a', 1), ('dir-b', 2) $$,
  'only the first directory_limit directories are queued');
update tiers set directory_limit = 50 where name = 'starter';

select is(
  (select details from audit_log where action = 'job.enqueued'
     and job_id = (select id from enqueued)),
  jsonb_build_object('order_id', :'order_s'::uuid, 'directories', 3),
  'the enqueue is audited with its order and directory count');

-- Refused: incomplete business ---------------------------------------------------------
select dev.create_paid_order('empty@example.com', 'starter', '{}'::jsonb) as order_empty \gset
select throws_ok(format('select jobs_enqueue(%L)', :'order_empty'), 'DB004', NULL,
  'an order whose business form is empty is refused with DB004');
select throws_like(format('select jobs_enqueue(%L)', :'order_empty'),
  '%missing business_name, street_address, city, region, postal_code, country, phone, website, category, hours',
  'the DB004 message names every missing field, in form order');

select dev.create_paid_order('partial@example.com', 'starter',
  dev.sample_business() - 'phone' - 'website') as order_partial \gset
select throws_ok(format('select jobs_enqueue(%L)', :'order_partial'), 'DB004', NULL,
  'an order missing phone and website is refused with DB004');
select throws_like(format('select jobs_enqueue(%L)', :'order_partial'),
  '%missing phone, website',
  'the DB004 message names exactly phone and website');

select dev.create_paid_order('blank@example.com', 'starter',
  dev.sample_business() || '{"city": "   "}'::jsonb) as order_blank \gset
select throws_like(format('select jobs_enqueue(%L)', :'order_blank'), '%missing city',
  'a blank (whitespace-only) field counts as missing');

select is((select count(*)::int from jobs where order_id in (:'order_empty', :'order_partial', :'order_blank')), 0,
  'no job was created for any incomplete business');
select is((select count(*)::int from audit_log where details ->> 'order_id' in (:'order_empty', :'order_partial')), 0,
  'nothing was audited for the refused enqueues');

-- Refused: unpaid, unknown, already enqueued -------------------------------------------
select dev.create_paid_order('unpaid@example.com', 'starter') as order_unpaid \gset
update orders set status = 'pending', paid_at = null where id = :'order_unpaid';
select throws_ok(format('select jobs_enqueue(%L)', :'order_unpaid'), 'DB002', NULL,
  'an unpaid (pending) order is refused with DB002');
select throws_like(format('select jobs_enqueue(%L)', :'order_unpaid'),
  '%is pending, only a paid order can be enqueued', 'the message says the order is not paid');
update orders set status = 'refunded' where id = :'order_unpaid';
select throws_ok(format('select jobs_enqueue(%L)', :'order_unpaid'), 'DB002', NULL,
  'a refunded order is refused with DB002');

select throws_ok('select jobs_enqueue(''00000000-0000-0000-0000-000000000000'')', 'DB003', NULL,
  'an unknown order is refused with DB003');

select throws_ok(format('select jobs_enqueue(%L)', :'order_s'), 'DB002', NULL,
  'enqueuing the same order a second time is refused with DB002');
select throws_like(format('select jobs_enqueue(%L)', :'order_s'), '%already has a job%',
  'the message says the order already has a job');
select is((select count(*)::int from jobs where order_id = :'order_s'), 1,
  'still exactly one job for the order');
select is((select count(*)::int from job_directories where job_id = (select id from enqueued)), 3,
  'and its directories were not duplicated');

-- Refused: no directory accepts the business -------------------------------------------
select dev.create_paid_order('nomatch@example.com', 'starter') as order_nomatch \gset
-- Only the FR-only and plumber-only directories stay enabled; a US bakery fits neither.
select directories_sync($$[
  {"id": "dir-fr", "name": "French only", "homepage": "http://127.0.0.1:9/fr", "tier": "starter", "priority": 0, "mode": "auto", "enabled": true, "country": "FR"},
  {"id": "dir-plumb", "name": "Plumbers only", "homepage": "http://127.0.0.1:9/p", "tier": "starter", "priority": 0, "mode": "auto", "enabled": true, "categories": ["plumber"]}
]$$::jsonb) \gset
select throws_ok(format('select jobs_enqueue(%L)', :'order_nomatch'), 'DB005', NULL,
  'an order no enabled directory accepts is refused with DB005');
select throws_like(format('select jobs_enqueue(%L)', :'order_nomatch'),
  'no enabled directory accepts a bakery business in US', 'the message names category and country');
select is((select count(*)::int from jobs where order_id = :'order_nomatch'), 0,
  'the refused enqueue left no half-written job behind');

-- The constraint holds even for a writer that bypasses jobs_enqueue.
select throws_ok(
  format($$ insert into jobs (order_id, customer_id, tier, business_snapshot)
            select o.id, o.customer_id, o.tier, '{"business_name": "Half"}'::jsonb
              from orders o where o.id = %L $$, :'order_partial'),
  '23514', NULL,
  'a direct insert with an incomplete business_snapshot violates a check constraint');
select throws_like(
  format($$ insert into jobs (order_id, customer_id, tier, business_snapshot)
            select o.id, o.customer_id, o.tier, '{"business_name": "Half"}'::jsonb
              from orders o where o.id = %L $$, :'order_partial'),
  '%jobs_business_is_complete%',
  'the violated constraint is jobs_business_is_complete');

select * from finish();
rollback;
