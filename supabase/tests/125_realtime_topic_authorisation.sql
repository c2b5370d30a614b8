-- Realtime authorises a private channel join by selecting from realtime.messages under the
-- joiner's JWT with realtime.topic set to the channel. These probes are that decision:
-- staff may join staff, jobs and job:*; workers jobs and job:* only; a customer nothing
-- since 20261208000410 (the portal relays to them; customer topics were closed); anon
-- nothing. Nobody but the database may broadcast.
begin;
set search_path = public, extensions;
select plan(20);

select directories_sync($$[
  {"id": "dir-a", "name": "A", "homepage": "http://127.0.0.1:9/a", "tier": "starter", "priority": 1, "mode": "auto", "enabled": true}
]$$::jsonb) \gset

-- Messages exist on every kind of topic, so "0 rows" below means refused, not empty.
select dev.create_paid_order('alice@example.com', 'starter') as order_a \gset
select dev.create_paid_order('bob@example.com', 'starter') as order_b \gset
select user_id as user_a from customers where email = 'alice@example.com' \gset
select user_id as user_b from customers where email = 'bob@example.com' \gset
select id as job_a from jobs_enqueue(:'order_a') \gset
select id as job_b from jobs_enqueue(:'order_b') \gset
select jobs_pause(:'job_a', 'staff:alice') \gset
-- Nothing broadcasts on customer:<uid> since 20261208000400; a message there keeps the
-- probes below meaningful (the policy still admits a customer to their own topic).
select realtime.send('{}'::jsonb, 'probe', 'customer:' || :'user_a', true) \gset
select realtime.send('{}'::jsonb, 'probe', 'customer:' || :'user_b', true) \gset
select gen_random_uuid() as staff_user, gen_random_uuid() as worker_user \gset
select results_eq(
  format($$ select count(*) filter (where topic = 'jobs') > 0, count(*) filter (where topic = 'staff') > 0,
                   count(*) filter (where topic = %L) > 0, count(*) filter (where topic = %L) > 0,
                   count(*) filter (where topic = %L) > 0 from realtime.messages $$,
         'customer:' || :'user_a', 'customer:' || :'user_b', 'job:' || :'job_a'),
  $$ values (true, true, true, true, true) $$, 'set-up: messages exist on every topic probed below');

-- Customer A ----------------------------------------------------------------------------
select dev.impersonate(:'user_a') \gset
select set_config('realtime.topic', 'staff', true) \gset
select is((select count(*)::int from realtime.messages), 0, 'customer A cannot join staff');
select set_config('realtime.topic', 'customer:' || :'user_a', true) \gset
select is((select count(*)::int from realtime.messages), 0, 'customer A can no longer join customer:<A uid>');
select set_config('realtime.topic', 'customer:' || :'user_b', true) \gset
select is((select count(*)::int from realtime.messages), 0, 'customer A cannot join customer:<B uid>');
select set_config('realtime.topic', 'jobs', true) \gset
select is((select count(*)::int from realtime.messages), 0, 'customer A cannot join jobs');
select set_config('realtime.topic', 'job:' || :'job_a', true) \gset
select is((select count(*)::int from realtime.messages), 0, 'customer A cannot join job:<id> (worker control channel)');
select set_config('realtime.topic', 'staff', true) \gset
select throws_ok($$ insert into realtime.messages (topic, extension, event, payload, private)
                    values ('staff', 'broadcast', 'job_status', '{"forged": true}', true) $$,
  '42501', NULL, 'customer A cannot broadcast (insert into realtime.messages)');
reset role;

-- Customer B ----------------------------------------------------------------------------
select dev.impersonate(:'user_b') \gset
select set_config('realtime.topic', 'customer:' || :'user_b', true) \gset
select is((select count(*)::int from realtime.messages), 0, 'customer B can no longer join customer:<B uid>');
select set_config('realtime.topic', 'customer:' || :'user_a', true) \gset
select is((select count(*)::int from realtime.messages), 0, 'customer B cannot join customer:<A uid>');
reset role;

-- Staff ---------------------------------------------------------------------------------
select dev.impersonate(:'staff_user', 'staff') \gset
select set_config('realtime.topic', 'staff', true) \gset
select ok((select count(*) from realtime.messages) > 0, 'staff can join staff');
select set_config('realtime.topic', 'jobs', true) \gset
select ok((select count(*) from realtime.messages) > 0, 'staff can join jobs');
select set_config('realtime.topic', 'job:' || :'job_a', true) \gset
select ok((select count(*) from realtime.messages) > 0, 'staff can join job:<id>');
reset role;

-- Worker service account ----------------------------------------------------------------
select dev.impersonate(:'worker_user', 'worker') \gset
select set_config('realtime.topic', 'jobs', true) \gset
select ok((select count(*) from realtime.messages) > 0, 'a worker can join jobs');
select set_config('realtime.topic', 'job:' || :'job_a', true) \gset
select ok((select count(*) from realtime.messages) > 0, 'a worker can join job:<id>');
select set_config('realtime.topic', 'staff', true) \gset
select is((select count(*)::int from realtime.messages), 0, 'a worker cannot join staff');
select set_config('realtime.topic', 'customer:' || :'user_a', true) \gset
select is((select count(*)::int from realtime.messages), 0, 'a worker cannot join a customer''s channel');
reset role;

-- Someone who puts a role in user_metadata (which users can edit) is not staff.
select set_config('request.jwt.claims', jsonb_build_object('sub', :'user_b', 'role', 'authenticated',
  'user_metadata', jsonb_build_object('role', 'staff'))::text, true) \gset
set local role authenticated;
select set_config('realtime.topic', 'staff', true) \gset
select is((select count(*)::int from realtime.messages), 0, 'a role in user_metadata does not open staff');
reset role;

-- Anon ----------------------------------------------------------------------------------
set local role anon;
select set_config('request.jwt.claims', '{"role":"anon"}', true) \gset
select set_config('realtime.topic', 'jobs', true) \gset
select is((select count(*)::int from realtime.messages), 0, 'anon cannot join jobs');
select set_config('realtime.topic', 'staff', true) \gset
select is((select count(*)::int from realtime.messages), 0, 'anon cannot join staff');
select set_config('realtime.topic', 'customer:' || :'user_a', true) \gset
select is((select count(*)::int from realtime.messages), 0, 'anon cannot join a customer''s channel');
reset role;

select * from finish();
rollback;
