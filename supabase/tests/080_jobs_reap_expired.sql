-- jobs_reap_expired: a job whose lease ran out (crashed or hung worker) goes back to pending
-- with its in-progress directories queued and lost_leases counted; after max_lost_leases it
-- fails instead. Unexpired jobs are untouched and the dead worker's token is refused.
begin;
set search_path = public, extensions;
select plan(23);

select directories_sync($$[
  {"id": "dir-a", "name": "A", "homepage": "http://127.0.0.1:9/a", "tier": "starter", "priority": 1, "mode": "auto", "enabled": true},
  {"id": "dir-b", "name": "B", "homepage": "http://127.0.0.1:9/b", "tier": "starter", "priority": 2, "mode": "auto", "enabled": true}
]$$::jsonb) \gset

select id as job1 from jobs_enqueue(dev.create_paid_order('crash@example.com', 'starter')) \gset
update jobs set created_at = now() - interval '1 minute' where id = :'job1';
select id as job2 from jobs_enqueue(dev.create_paid_order('alive@example.com', 'starter')) \gset
select id as claimed1, lease_token as token1 from jobs_next('worker-1', 60) \gset
select id as claimed2, lease_token as token2 from jobs_next('worker-2', 60) \gset
select results_eq(format('select %L::uuid, %L::uuid', :'claimed1', :'claimed2'),
  format('select %L::uuid, %L::uuid', :'job1', :'job2'), 'both jobs claimed (oldest first)');
select jobs_report_attempt(job_id => :'job1', lease_token => :'token1',
  report => '{"directory_id": "dir-a", "attempt": 1, "outcome": "success", "confirmed": true}') \gset
select jobs_start_directory(:'job1', :'token1', 'dir-b') \gset

select throws_ok('select * from jobs_reap_expired(0)', 'DB005', 'max_lost_leases must be positive',
  'max_lost_leases 0 is refused with DB005');
select is_empty('select * from jobs_reap_expired()', 'nothing is reaped while every lease is live');

-- worker-1 dies: its lease runs out.
update jobs set lease_expires_at = now() - interval '1 second' where id = :'job1';
select results_eq('select job_id, status::text, lost_leases from jobs_reap_expired()',
  format($$ values (%L::uuid, 'pending', 1) $$, :'job1'),
  'the expired job is reaped back to pending with lost_leases = 1');
select results_eq(
  format($$ select status::text, lost_leases, lease_token, lease_expires_at, worker_id from jobs where id = %L $$, :'job1'),
  $$ values ('pending', 1, null::uuid, null::timestamptz, null::text) $$,
  'the stored job is pending, unleased, with one lost lease');
select results_eq(
  format($$ select directory_id, status::text from job_directories where job_id = %L order by position $$, :'job1'),
  $$ values ('dir-a', 'submitted'), ('dir-b', 'queued') $$,
  'its in-progress directory is queued again; the submitted one stays submitted');
select results_eq(
  format($$ select status::text, lease_token, worker_id from jobs where id = %L $$, :'job2'),
  format($$ values ('in_progress', %L::uuid, 'worker-2') $$, :'token2'),
  'the job with a live lease is untouched');
select is((select running from tiers where name = 'starter'), 1, 'the reaped job''s slot was released');
select results_eq(
  format($$ select actor, from_status, to_status, details from audit_log where action = 'job.lease_expired' and job_id = %L $$, :'job1'),
  $$ values ('reaper', 'in_progress', 'pending', '{"worker_id": "worker-1", "lost_leases": 1}'::jsonb) $$,
  'the reap is audited with the dead worker and the lost lease count');

-- The dead worker wakes up: everything it tries with its old token is refused.
select throws_ok(format('select jobs_heartbeat(%L, %L, 60)', :'job1', :'token1'), 'DB001', NULL,
  'the old token''s heartbeat is refused with DB001');
-- Its report is a late fact (issue 13): recorded; a transient error changes nothing.
select is(
  (jobs_report_attempt(job_id => :'job1', lease_token => :'token1',
     report => '{"directory_id": "dir-b", "attempt": 1, "outcome": "transient_error", "error_code": "timeout"}')).status::text,
  'queued', 'the old token''s report is recorded late and leaves the directory queued');
select throws_ok(format('select jobs_complete(%L, %L)', :'job1', :'token1'), 'DB001', NULL,
  'the old token''s completion is refused with DB001');
select is((select status::text from job_directories where job_id = :'job1' and directory_id = 'dir-b'), 'queued',
  'nothing the old token tried moved the directory');

select is_empty('select * from jobs_reap_expired()', 'reaping again finds nothing');

-- The job keeps losing its leases: the third loss fails it (default max_lost_leases = 3).
select lease_token as token1b from jobs_next('worker-3', 60) \gset
update jobs set lease_expires_at = now() - interval '1 second' where id = :'job1';
select results_eq('select job_id, status::text, lost_leases from jobs_reap_expired()',
  format($$ values (%L::uuid, 'pending', 2) $$, :'job1'), 'second lost lease: pending, lost_leases = 2');
select lease_token as token1c from jobs_next('worker-4', 60) \gset
select jobs_start_directory(:'job1', :'token1c', 'dir-b') \gset
update jobs set lease_expires_at = now() - interval '1 second' where id = :'job1';
select results_eq('select job_id, status::text, lost_leases from jobs_reap_expired()',
  format($$ values (%L::uuid, 'failed', 3) $$, :'job1'), 'third lost lease: the job fails');
select results_eq(
  format($$ select status::text, lost_leases, lease_token, completed_at from jobs where id = %L $$, :'job1'),
  $$ values ('failed', 3, null::uuid, null::timestamptz) $$, 'the stored job is failed and unleased');
select is((select status::text from job_directories where job_id = :'job1' and directory_id = 'dir-b'), 'queued',
  'its in-progress directory is left queued (so a staff retry can pick it up)');
select is((select running from tiers where name = 'starter'), 1, 'the failed job''s slot was released');
select is_empty('select * from jobs_next(''worker-5'', 60)', 'a failed job is not dispatched again');

-- A lower max_lost_leases fails a job on its first loss; the live job is still untouched.
update jobs set lease_expires_at = now() - interval '1 second' where id = :'job2';
select results_eq('select job_id, status::text, lost_leases from jobs_reap_expired(1)',
  format($$ values (%L::uuid, 'failed', 1) $$, :'job2'), 'with max_lost_leases = 1 the first loss fails the job');
select is((select running from tiers where name = 'starter'), 0, 'every slot is free again');
select is((select count(*)::int from audit_log where action = 'job.lease_expired'), 4,
  'every reap was audited');

select * from finish();
rollback;
