-- Hosted Realtime's budget (Pro 500 messages/s): one attempt — the directory started, then
-- reported — sends two broadcasts, both on 'staff' (migration 20261208000400); the claim
-- sends one. Only the database broadcasts: a customer cannot read 'staff' nor send there.
begin;
set search_path = public, extensions;
select plan(6);

select directories_sync($$[
  {"id": "dir-a", "name": "A", "homepage": "http://127.0.0.1:9/a", "tier": "starter", "priority": 1, "mode": "auto", "enabled": true}
]$$::jsonb) \gset
select dev.create_paid_order('budget@example.com', 'starter') as order_id \gset
select user_id as uid from customers where email = 'budget@example.com' \gset
select id as job from jobs_enqueue(:'order_id') \gset

select count(*)::int as before_claim from realtime.messages \gset
select lease_token as token from jobs_next('worker-1', 300) \gset
select is((select count(*)::int from realtime.messages) - :before_claim, 1, 'a claim sends one message');

select count(*)::int as before_attempt from realtime.messages \gset
select jobs_start_directory(:'job', :'token', 'dir-a') \gset
select jobs_report_attempt(job_id => :'job', lease_token => :'token',
  report => '{"directory_id": "dir-a", "attempt": 1, "outcome": "success", "confirmed": true}') \gset
select is((select count(*)::int from realtime.messages) - :before_attempt, 2,
  'an attempt (started, then reported) sends two messages');
select results_eq(
  format($$ select topic, event, payload ->> 'status' from realtime.messages
             where payload ->> 'job_id' = %L and event = 'progress' order by inserted_at, payload ->> 'status' $$, :'job'),
  $$ values ('staff', 'progress', 'in_progress'), ('staff', 'progress', 'submitted') $$,
  'both on staff: in progress, then submitted');

-- The customer: refused on staff (the portal reads it for them), and may not broadcast.
select dev.impersonate(:'uid') \gset
select set_config('realtime.topic', 'staff', true) \gset
select is((select count(*)::int from realtime.messages), 0, 'a customer cannot read the staff topic');
select throws_ok(
  $$ insert into realtime.messages (topic, extension, event, payload, private)
     values ('staff', 'broadcast', 'progress', '{"forged": true}', true) $$,
  '42501', null, 'a customer cannot broadcast on staff');
reset role;
select set_config('request.jwt.claims', null, true) \gset
select is((select count(*)::int from realtime.messages where payload ? 'forged'), 0, 'nothing forged got in');

select * from finish();
rollback;
