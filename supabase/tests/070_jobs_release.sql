-- jobs_release: the lease holder gives its job back (e.g. on SIGTERM): in-progress
-- directories return to queued, the job to pending, the lease is cleared and the tier slot
-- freed so another worker can take it.
begin;
set search_path = public, extensions;
select plan(12);

select directories_sync($$[
  {"id": "dir-a", "name": "A", "homepage": "http://127.0.0.1:9/a", "tier": "starter", "priority": 1, "mode": "auto", "enabled": true},
  {"id": "dir-b", "name": "B", "homepage": "http://127.0.0.1:9/b", "tier": "starter", "priority": 2, "mode": "auto", "enabled": true},
  {"id": "dir-c", "name": "C", "homepage": "http://127.0.0.1:9/c", "tier": "starter", "priority": 3, "mode": "auto", "enabled": true}
]$$::jsonb) \gset

select id as job from jobs_enqueue(dev.create_paid_order('release@example.com', 'starter')) \gset
select lease_token as token from jobs_next('worker-1', 300) \gset
select jobs_report_attempt(job_id => :'job', lease_token => :'token',
  report => '{"directory_id": "dir-a", "attempt": 1, "outcome": "success", "confirmed": true}') \gset
select jobs_start_directory(:'job', :'token', 'dir-b') \gset
select is((select running from tiers where name = 'starter'), 1, 'one starter slot in use before release');

select throws_ok(format('select jobs_release(%L, gen_random_uuid())', :'job'), 'DB001', NULL,
  'a release with a stale token is refused with DB001');
select is((select status::text from job_directories where job_id = :'job' and directory_id = 'dir-b'),
  'in_progress', 'the refused release left the in-progress directory alone');

create temp table released as select * from jobs_release(:'job', :'token');
select results_eq(
  $$ select status::text, lease_token, lease_expires_at, worker_id from released $$,
  $$ values ('pending', null::uuid, null::timestamptz, null::text) $$,
  'release returns the job pending with its lease cleared');
select results_eq(
  format($$ select status::text, lease_token, lease_expires_at, worker_id from jobs where id = %L $$, :'job'),
  $$ values ('pending', null::uuid, null::timestamptz, null::text) $$,
  'the stored job is pending and unleased');
select results_eq(
  format($$ select directory_id, status::text, attempts from job_directories where job_id = %L order by position $$, :'job'),
  $$ values ('dir-a', 'submitted', 1), ('dir-b', 'queued', 0), ('dir-c', 'queued', 0) $$,
  'the in-progress directory is queued again; the submitted one stays submitted');
select is((select running from tiers where name = 'starter'), 0, 'the running slot was released');
select results_eq(
  format($$ select actor, from_status, to_status from audit_log where action = 'job.released' and job_id = %L $$, :'job'),
  $$ values ('worker:worker-1', 'in_progress', 'pending') $$, 'the release is audited');

select throws_ok(format('select jobs_release(%L, %L)', :'job', :'token'), 'DB001', NULL,
  'releasing again with the same token is refused with DB001');

create temp table reclaimed as select * from jobs_next('worker-2', 300);
select is((select id from reclaimed), :'job'::uuid, 'the released job can be claimed again');
select isnt((select lease_token from reclaimed), :'token'::uuid, 'with a new lease token');
select is((select running from tiers where name = 'starter'), 1, 'taking the slot again');

select * from finish();
rollback;
