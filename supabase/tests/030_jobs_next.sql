-- jobs_next: hands out the oldest pending job (by created_at) with a fresh lease, skipping
-- paused and cancelled jobs, reserving a slot of its tier and never exceeding max_running.
begin;
set search_path = public, extensions;
select plan(30);

select directories_sync($$[
  {"id": "dir-a", "name": "Directory A", "homepage": "http://127.0.0.1:9/a", "tier": "starter", "priority": 1, "mode": "auto", "enabled": true},
  {"id": "dir-b", "name": "Directory B", "homepage": "http://127.0.0.1:9/b", "tier": "starter", "priority": 2, "mode": "auto", "enabled": true}
]$$::jsonb) \gset

select is_empty($$ select * from jobs_next('worker-0', 60) $$,
  'an empty queue returns zero rows');

-- Five starter jobs. The two oldest are paused and cancelled: neither may be dispatched.
-- Of the other three, the first to go out is deliberately neither the first enqueued nor
-- the lowest id, and the second is the higher id of the two left, so a queue ordered by
-- insertion or by id instead of created_at fails here.
select id as job1 from jobs_enqueue(dev.create_paid_order('one@example.com', 'starter')) \gset
select id as job2 from jobs_enqueue(dev.create_paid_order('two@example.com', 'starter')) \gset
select id as job3 from jobs_enqueue(dev.create_paid_order('three@example.com', 'starter')) \gset
select id as job4 from jobs_enqueue(dev.create_paid_order('four@example.com', 'starter')) \gset
select id as job5 from jobs_enqueue(dev.create_paid_order('five@example.com', 'starter')) \gset
select id as min_id from jobs where id in (:'job1', :'job3', :'job5') order by id limit 1 \gset
select case when :'job5' <> :'min_id' then :'job5' else :'job3' end as first_out \gset
select id as second_out from jobs where id in (:'job1', :'job3', :'job5') and id <> :'first_out'
 order by id desc limit 1 \gset
select id as third_out from jobs where id in (:'job1', :'job3', :'job5')
   and id not in (:'first_out', :'second_out') \gset
update jobs set created_at = now() - interval '10 minutes' where id in (:'job2', :'job4');
update jobs set created_at = now() - interval '3 minutes' where id = :'first_out';
update jobs set created_at = now() - interval '2 minutes' where id = :'second_out';
update jobs set created_at = now() - interval '1 minute' where id = :'third_out';
select jobs_pause(:'job2', 'staff:test') \gset
select jobs_cancel(:'job4', 'staff:test') \gset

create temp table claim1 as select * from jobs_next('worker-1', 60);
select is((select count(*)::int from claim1), 1, 'jobs_next returns one row');
select is((select id from claim1), :'first_out'::uuid,
  'the oldest dispatchable job (by created_at) is claimed, skipping paused and cancelled ones');
select is((select status::text from claim1), 'in_progress', 'the claimed job is in_progress');
select is((select worker_id from claim1), 'worker-1', 'it names the claiming worker');
select isnt((select lease_token from claim1), null, 'it carries a lease_token');
select is((select lease_expires_at from claim1), now() + interval '60 seconds',
  'lease_expires_at is now + lease_seconds');
select is((select started_at from claim1), now(), 'started_at is set on first claim');
select results_eq(
  format($$ select status::text, lease_token from jobs where id = %L $$, :'first_out'),
  $$ select 'in_progress', lease_token from claim1 $$,
  'the returned lease is the one stored on the job');
select is((select running from tiers where name = 'starter'), 1, 'starter tier running went 0 -> 1');
select results_eq(
  -- (both were created at the same moment: ordered by which is which, not by created_at)
  format($$ select status::text from jobs where id in (%L, %L) order by id = %L desc $$,
         :'job2', :'job4', :'job2'),
  $$ values ('paused'), ('cancelled') $$,
  'the paused and cancelled jobs were left alone');
select results_eq(
  $$ select current_job_id, jobs_claimed from workers where id = 'worker-1' $$,
  $$ select id, 1 from claim1 $$,
  'the worker is recorded with its current job and one claim');

-- max_running is a strict cap.
update tiers set max_running = 1 where name = 'starter';
select is_empty($$ select * from jobs_next('worker-2', 60) $$,
  'with max_running = 1 and one starter job running, a second claim returns no row');
select is((select count(*)::int from jobs where id in (:'second_out', :'third_out') and status = 'pending'), 2,
  'the remaining starter jobs stay pending');
select is((select running from tiers where name = 'starter'), 1, 'running did not move past the cap');

-- A full tier does not block other tiers: a newer growth job is handed out instead.
select id as job_growth from jobs_enqueue(dev.create_paid_order('growth@example.com', 'growth')) \gset
create temp table claim_growth as select * from jobs_next('worker-2', 60);
select is((select id from claim_growth), :'job_growth'::uuid,
  'while starter is full, the (newer) growth job is claimed');
select is((select running from tiers where name = 'growth'), 1, 'growth tier running went 0 -> 1');

update tiers set max_running = 0 where name = 'growth';
update tiers set max_running = 8 where name = 'starter';
create temp table claim3 as select * from jobs_next('worker-3', 60);
select is((select id from claim3), :'second_out'::uuid, 'once the cap is raised, the next oldest starter job is claimed');
select isnt((select lease_token from claim3), (select lease_token from claim1),
  'every claim gets its own lease token');
select is((select running from tiers where name = 'starter'), 2, 'starter running is 2');
select results_eq($$ select id from jobs_next('worker-4', 60) $$, format('values (%L::uuid)', :'third_out'),
  'then the last one');

select is_empty($$ select * from jobs_next('worker-5', 60) $$,
  'nothing pending is left (paused and cancelled are not dispatched): zero rows');
select is((select count(*)::int from audit_log where action = 'job.claimed'), 4,
  'each claim was audited, and the empty calls were not');

-- Bad arguments are refused with DB005 and claim nothing.
select id as job6 from jobs_enqueue(dev.create_paid_order('six@example.com', 'starter')) \gset
select throws_ok($$ select * from jobs_next('', 60) $$, 'DB005', 'worker_id is required',
  'an empty worker_id is refused with DB005');
select throws_ok($$ select * from jobs_next('   ', 60) $$, 'DB005', 'worker_id is required',
  'a blank worker_id is refused with DB005');
select throws_ok($$ select * from jobs_next(null, 60) $$, 'DB005', 'worker_id is required',
  'a null worker_id is refused with DB005');
select throws_ok($$ select * from jobs_next('worker-5', 0) $$, 'DB005',
  'lease_seconds must be between 5 and 3600', 'lease_seconds 0 is refused with DB005');
select throws_ok($$ select * from jobs_next('worker-5', 3601) $$, 'DB005',
  'lease_seconds must be between 5 and 3600', 'lease_seconds above an hour is refused with DB005');
select throws_ok($$ select * from jobs_next('worker-5', null) $$, 'DB005',
  'lease_seconds must be between 5 and 3600', 'a null lease_seconds is refused with DB005');
select is((select status::text from jobs where id = :'job6'), 'pending',
  'the refused calls claimed nothing');

select * from finish();
rollback;
