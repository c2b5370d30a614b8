-- Realtime broadcasts from the database: new work wakes workers on 'jobs'; pause, resume and
-- cancel reach the job's worker on 'job:<id>'; every status change and directory change goes,
-- once, to 'staff', which the portal follows and fans out (migration 20261208000400). Nothing
-- goes to customer:<uid> any more. All private broadcast messages.
begin;
set search_path = public, extensions;
select plan(22);

select directories_sync($$[
  {"id": "dir-a", "name": "A", "homepage": "http://127.0.0.1:9/a", "tier": "starter", "priority": 1, "mode": "auto", "enabled": true},
  {"id": "dir-b", "name": "B", "homepage": "http://127.0.0.1:9/b", "tier": "starter", "priority": 2, "mode": "auto", "enabled": true}
]$$::jsonb) \gset

select is((select count(*)::int from realtime.messages), 0, 'set-up: no messages yet');

select dev.create_paid_order('live@example.com', 'starter') as order_id \gset
select user_id as uid from customers where email = 'live@example.com' \gset
select id as job from jobs_enqueue(:'order_id') \gset

-- Enqueue: a wake-up for workers --------------------------------------------------------
select results_eq(
  format($$ select event, payload ->> 'status', private, extension from realtime.messages
             where topic = 'jobs' and payload ->> 'job_id' = %L $$, :'job'),
  $$ values ('job_available', 'pending', true, 'broadcast') $$,
  'jobs_enqueue sends one private job_available broadcast on topic jobs');
select is((select payload ->> 'tier' from realtime.messages where topic = 'jobs' and event = 'job_available'),
  'starter', 'the wake-up says which tier the job is in');
select is((select count(*)::int from realtime.messages where topic like 'customer:%'), 0,
  'nothing goes to customer:<uid>: the portal hears it on staff');
select results_eq(
  $$ select event, payload ->> 'status' from realtime.messages where topic = 'staff' $$,
  $$ values ('job_status', 'pending') $$, 'staff hear it on staff');

-- Pause / resume / cancel on job:<id> ---------------------------------------------------
select jobs_pause(:'job', 'staff:alice') \gset
select results_eq(
  format($$ select event, payload ->> 'status', payload ->> 'from_status' from realtime.messages where topic = %L $$, 'job:' || :'job'),
  $$ values ('paused', 'paused', 'pending') $$, 'jobs_pause sends paused on job:<id>');
select jobs_resume(:'job', 'staff:alice') \gset
select results_eq(
  format($$ select payload ->> 'status', payload ->> 'from_status' from realtime.messages where topic = %L and event = 'resumed' $$, 'job:' || :'job'),
  $$ values ('pending', 'paused') $$, 'jobs_resume sends resumed on job:<id>');
select is((select count(*)::int from realtime.messages where topic = 'jobs' and event = 'job_available'), 2,
  'a resumed job wakes workers again (second job_available)');

-- Progress: claim, start, report ----------------------------------------------------------
select lease_token as token from jobs_next('worker-1', 300) \gset
select is((select count(*)::int from realtime.messages where topic = 'jobs'), 2,
  'claiming (pending -> in_progress) sends no job_available');
select is((select count(*)::int from realtime.messages where event = 'progress'), 0, 'no progress before any directory moved');
select jobs_report_attempt(job_id => :'job', lease_token => :'token',
  report => '{"directory_id": "dir-a", "attempt": 1, "outcome": "success", "confirmed": true, "listing_url": "https://a.example/l"}') \gset
select results_eq(
  $$ select topic, payload ->> 'directory_id', payload ->> 'status', payload ->> 'from_status',
            (payload ->> 'attempts')::int, payload ->> 'listing_url'
       from realtime.messages where event = 'progress' order by topic $$,
  $$ values ('staff', 'dir-a', 'submitted', 'queued', 1, 'https://a.example/l') $$,
  'a report sends one progress message, on staff');
select ok((select bool_and(private and extension = 'broadcast') from realtime.messages), 'every message is a private broadcast');

-- A transient error that leaves a directory queued is not a state change: no progress.
select jobs_report_attempt(job_id => :'job', lease_token => :'token',
  report => '{"directory_id": "dir-b", "attempt": 1, "outcome": "transient_error", "error_code": "timeout"}') \gset
select is((select count(*)::int from realtime.messages where event = 'progress'), 1,
  'a report that leaves the directory in the same state sends no progress');
select jobs_start_directory(:'job', :'token', 'dir-b') \gset
select is((select count(*)::int from realtime.messages where event = 'progress' and payload ->> 'directory_id' = 'dir-b'
             and payload ->> 'status' = 'in_progress'), 1,
  'starting a directory sends one progress message');

-- Cancel -----------------------------------------------------------------------------------
select jobs_cancel(:'job', 'staff:alice') \gset
select results_eq(
  format($$ select payload ->> 'status', payload ->> 'from_status' from realtime.messages where topic = %L and event = 'cancelled' $$, 'job:' || :'job'),
  $$ values ('cancelled', 'in_progress') $$, 'jobs_cancel sends cancelled on job:<id>');
select is((select count(*)::int from realtime.messages where event = 'progress' and payload ->> 'directory_id' = 'dir-b'
             and payload ->> 'status' = 'skipped'), 1,
  'the directory skipped by the cancel is broadcast as progress');
select results_eq(
  format($$ select event, count(*)::int from realtime.messages where topic = %L group by event order by event $$, 'job:' || :'job'),
  $$ values ('cancelled', 1), ('paused', 1), ('resumed', 1) $$,
  'job:<id> carried exactly the worker''s controls: paused, resumed, cancelled');
select results_eq(
  format($$ select payload ->> 'status', count(*)::int from realtime.messages where topic = 'staff'
             and event = 'job_status' and payload ->> 'job_id' = %L group by 1 order by 1 $$, :'job'),
  $$ values ('cancelled', 1), ('in_progress', 1), ('paused', 1), ('pending', 2) $$,
  'staff (and through the portal, the customer) heard every status change of the job');

-- Other jobs' channels stay quiet -----------------------------------------------------------
select id as other from jobs_enqueue(dev.create_paid_order('quiet@example.com', 'starter')) \gset
select is((select count(*)::int from realtime.messages where topic = 'job:' || :'other'), 0,
  'enqueuing another job sends nothing on its job:<id> channel');
select is((select count(*)::int from realtime.messages where topic = 'job:' || :'job'), 3,
  'and nothing new on the first job''s channel');
select is((select count(*)::int from realtime.messages where topic = 'staff' and payload ->> 'job_id' = :'job'), 8,
  'staff heard the first job once per change (5 status + 3 progress)');
select ok(not exists (select 1 from realtime.messages where topic like 'customer:%' and topic <> 'customer:' || :'uid'
                        and payload ->> 'job_id' = :'job'),
  'the first job''s news never goes to another customer''s channel');

select * from finish();
rollback;
