-- jobs_heartbeat: the current lease holder extends its lease; any other token is refused
-- (DB001) and changes nothing.
begin;
set search_path = public, extensions;
select plan(14);

select directories_sync($$[
  {"id": "dir-a", "name": "Directory A", "homepage": "http://127.0.0.1:9/a", "tier": "starter", "priority": 1, "mode": "auto", "enabled": true}
]$$::jsonb) \gset

select id as job from jobs_enqueue(dev.create_paid_order('beat@example.com', 'starter')) \gset
select id as claimed, lease_token as token from jobs_next('worker-1', 60) \gset
select is(:'claimed'::uuid, :'job'::uuid, 'the job was claimed');

select is(jobs_heartbeat(:'job', :'token', 600), now() + interval '600 seconds',
  'a heartbeat with the current token returns the new expiry (now + lease_seconds)');
select is((select lease_expires_at from jobs where id = :'job'), now() + interval '600 seconds',
  'and the job''s lease_expires_at was extended to it');
select is((select lease_token from jobs where id = :'job'), :'token'::uuid,
  'the lease token is unchanged by a heartbeat');

select throws_ok(format('select jobs_heartbeat(%L, gen_random_uuid(), 900)', :'job'), 'DB001', NULL,
  'a heartbeat with a random token is refused with DB001 (lease lost)');
select throws_like(format('select jobs_heartbeat(%L, gen_random_uuid(), 900)', :'job'),
  '%is not held: the job is in_progress under another lease',
  'the message says another lease holds the job');
select results_eq(
  format($$ select status::text, lease_token, lease_expires_at, worker_id from jobs where id = %L $$, :'job'),
  format($$ values ('in_progress', %L::uuid, now() + interval '600 seconds', 'worker-1') $$, :'token'),
  'the refused heartbeat changed nothing');

select throws_ok(format('select jobs_heartbeat(%L, %L, 0)', :'job', :'token'), 'DB005',
  'lease_seconds must be between 5 and 3600', 'lease_seconds 0 is refused with DB005');
select throws_ok(format('select jobs_heartbeat(gen_random_uuid(), %L, 60)', :'token'), 'DB003', NULL,
  'a heartbeat for an unknown job is refused with DB003');

-- A token that was current once is stale after the job went back and was claimed again.
select jobs_release(:'job', :'token') \gset
select lease_token as token2 from jobs_next('worker-2', 60) \gset
select throws_ok(format('select jobs_heartbeat(%L, %L, 900)', :'job', :'token'), 'DB001', NULL,
  'the previous holder''s token is refused after the job was re-claimed');
select results_eq(
  format($$ select lease_token, lease_expires_at, worker_id from jobs where id = %L $$, :'job'),
  format($$ values (%L::uuid, now() + interval '60 seconds', 'worker-2') $$, :'token2'),
  'the new holder''s lease is untouched by the stale heartbeat');

-- Paused: the lease is gone, so the old holder's heartbeat is refused.
select jobs_pause(:'job', 'staff:test') \gset
select throws_ok(format('select jobs_heartbeat(%L, %L, 60)', :'job', :'token2'), 'DB001', NULL,
  'a heartbeat on a paused job is refused with DB001');
select throws_like(format('select jobs_heartbeat(%L, %L, 60)', :'job', :'token2'),
  '%is not held: the job is paused now', 'the message says the job is paused');
select results_eq(
  format($$ select status::text, lease_token, lease_expires_at from jobs where id = %L $$, :'job'),
  $$ values ('paused', null::uuid, null::timestamptz) $$,
  'the paused job stays paused and unleased');

select * from finish();
rollback;
