-- Each read policy on customer data has one audience and does what its name says: a customer
-- (`authenticated`) reads only their own rows; staff (app_metadata.role = 'staff') read every
-- row as `dbolt_staff` (the portal's dashboard), and through the Data API (`authenticated`)
-- only what a customer would.
begin;
set search_path = public, extensions;
select plan(36);

select policies_are('public', 'customers', array['customers can read their own record', 'staff can read every customer record']);
select policies_are('public', 'orders', array['customers can read their own orders', 'staff can read all orders']);
select policies_are('public', 'jobs', array['customers can read their own jobs', 'staff can read all jobs']);
select policies_are('public', 'job_directories', array['customers can read the directories of their own jobs', 'staff can read all jobs'' directories']);
select policies_are('public', 'job_results', array['customers can read the attempts of their own jobs', 'staff can read all attempts']);
select policies_are('public', 'job_reports', array['customers can read their own reports', 'staff can read all reports']);
select policies_are('public', 'customer_logos', array['customers can read their own logos', 'staff can read all logos']);
select policies_are('public', 'shortfall_refunds', array['customers can read their own shortfall refunds', 'staff can read all shortfall refunds']);

select directories_sync($$[
  {"id": "dir-a", "name": "A", "homepage": "http://127.0.0.1:9/a", "tier": "starter", "priority": 1, "mode": "auto", "enabled": true}
]$$::jsonb) \gset

-- Two customers, each with a completed job (one directory, one attempt, one report) and a logo.
select dev.create_paid_order('ann@example.com', 'starter') as order_a \gset
select dev.create_paid_order('ben@example.com', 'starter') as order_b \gset
select user_id as user_a, id as cust_a from customers where email = 'ann@example.com' \gset
select id as cust_b from customers where email = 'ben@example.com' \gset
select id as job_a from jobs_enqueue(:'order_a') \gset
select id as job_b from jobs_enqueue(:'order_b') \gset
select lease_token as token_1, id as job_1 from jobs_next('worker-1', 300) \gset
select jobs_report_attempt(job_id => :'job_1', lease_token => :'token_1',
  report => '{"directory_id": "dir-a", "attempt": 1, "outcome": "success", "confirmed": true}') \gset
select jobs_complete(:'job_1', :'token_1') \gset
select lease_token as token_2, id as job_2 from jobs_next('worker-1', 300) \gset
select jobs_report_attempt(job_id => :'job_2', lease_token => :'token_2',
  report => '{"directory_id": "dir-a", "attempt": 1, "outcome": "success", "confirmed": true}') \gset
select jobs_complete(:'job_2', :'token_2') \gset
insert into customer_logos (customer_id, content_type, content, sha256)
select id, 'image/png', '\x89'::bytea, repeat('0', 64) from customers where id in (:'cust_a', :'cust_b');
select gen_random_uuid() as staff_user \gset

-- A customer: their own rows only. --------------------------------------------------------
select dev.impersonate(:'user_a') \gset
select is((select count(*)::int from customers where id = :'cust_a'), 1, 'a customer reads their own record');
select is((select count(*)::int from customers where id = :'cust_b'), 0, 'and not another customer''s');
select is((select count(*)::int from orders where customer_id = :'cust_b'), 0, 'nor their orders');
select is((select count(*)::int from jobs where customer_id = :'cust_b'), 0, 'nor their jobs');
select is((select count(*)::int from job_directories where job_id = :'job_b'), 0, 'nor their jobs'' directories');
select is((select count(*)::int from job_results where job_id = :'job_b'), 0, 'nor their jobs'' attempts');
select is((select count(*)::int from job_reports), 1, 'a customer reads one report: their own');
select is((select count(*)::int from customer_logos), 1, 'a customer reads one logo: their own');
select is((select array_agg(customer_id) from customer_logos), array[:'cust_a'::uuid], 'the logo is theirs');
-- Each job delivered 1 of the package's 50: each order has its shortfall.
select is((select array_agg(order_id) from shortfall_refunds), array[:'order_a'::uuid], 'a customer reads one shortfall refund: their own order''s');
reset role;

-- Staff with a JWT through the Data API (authenticated): no customer data. ----------------
select dev.impersonate(:'staff_user', 'staff') \gset
select is((select count(*)::int from customers), 0, 'a staff JWT as authenticated reads no customer record');
select is((select count(*)::int from orders), 0, 'nor any order');
select is((select count(*)::int from jobs), 0, 'nor any job');
select is((select count(*)::int from job_directories), 0, 'nor any job''s directories');
select is((select count(*)::int from job_results), 0, 'nor any attempt');
select is((select count(*)::int from job_reports), 0, 'nor any report');
select is((select count(*)::int from customer_logos), 0, 'nor any logo');
select is((select count(*)::int from shortfall_refunds), 0, 'nor any shortfall refund');
reset role;

-- Staff on the portal's dashboard (dbolt_staff, a member of authenticated): every row. -------
select set_config('request.jwt.claims', jsonb_build_object('sub', :'staff_user', 'role', 'authenticated',
  'app_metadata', jsonb_build_object('role', 'staff'))::text, true) \gset
set local role dbolt_staff;
select is((select count(*)::int from customers where id in (:'cust_a', :'cust_b')), 2, 'staff as dbolt_staff read every customer record');
select is((select count(*)::int from orders where id in (:'order_a', :'order_b')), 2, 'staff as dbolt_staff read every order');
select is((select count(*)::int from jobs where id in (:'job_a', :'job_b')), 2, 'staff as dbolt_staff read every job');
select is((select count(*)::int from job_directories where job_id in (:'job_a', :'job_b')), 2, 'staff as dbolt_staff read every job''s directories');
select is((select count(*)::int from job_results where job_id in (:'job_a', :'job_b')), 2, 'staff as dbolt_staff read every job''s attempts');
select is((select count(*)::int from job_reports where job_id in (:'job_a', :'job_b')), 2, 'staff as dbolt_staff read every report');
select is((select count(*)::int from customer_logos where customer_id in (:'cust_a', :'cust_b')), 2, 'staff as dbolt_staff read every logo');
select is((select count(*)::int from shortfall_refunds where order_id in (:'order_a', :'order_b')), 2, 'staff as dbolt_staff read every shortfall refund');
reset role;

-- dbolt_staff without the staff claim in the JWT: only the customer half applies.
select set_config('request.jwt.claims', jsonb_build_object('sub', :'user_a', 'role', 'authenticated')::text, true) \gset
set local role dbolt_staff;
select is((select count(*)::int from jobs), 1, 'dbolt_staff without a staff JWT reads only its own job');
select is((select count(*)::int from shortfall_refunds), 1, 'and only its own order''s shortfall refund');
reset role;

select * from finish();
rollback;
