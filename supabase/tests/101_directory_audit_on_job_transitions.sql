-- Whole-job transitions (release, pause, reap, cancel) move the job's unfinished directories
-- too; each directory moved gets its own audit row with the actor, like any other transition.
begin;
set search_path = public, extensions;
select plan(4);

select directories_sync($$[
  {"id": "dir-a", "name": "A", "homepage": "http://127.0.0.1:9/a", "tier": "starter", "priority": 1, "mode": "auto", "enabled": true},
  {"id": "dir-b", "name": "B", "homepage": "http://127.0.0.1:9/b", "tier": "starter", "priority": 2, "mode": "auto", "enabled": true}
]$$::jsonb) \gset
select id as job from jobs_enqueue(dev.create_paid_order('moves@example.com', 'starter')) \gset

-- release
select lease_token as token from jobs_next('w1', 300) \gset
select jobs_start_directory(:'job', :'token', 'dir-a') \gset
select jobs_release(:'job', :'token') \gset
-- pause
select lease_token as token from jobs_next('w2', 300) \gset
select jobs_start_directory(:'job', :'token', 'dir-a') \gset
select jobs_pause(:'job', 'staff:pat') \gset
select jobs_resume(:'job', 'staff:pat') \gset
-- reap
select lease_token as token from jobs_next('w3', 300) \gset
select jobs_start_directory(:'job', :'token', 'dir-b') \gset
update jobs set lease_expires_at = now() - interval '1 second' where id = :'job';
select * from jobs_reap_expired(3) \gset
-- cancel
select jobs_cancel(:'job', 'staff:cal') \gset

select results_eq(
  format($$ select actor, action, directory_id, from_status, to_status from audit_log
             where job_id = %L and action in ('directory.released', 'directory.paused',
               'directory.lease_expired') order by id $$, :'job'),
  $$ values ('worker:w1', 'directory.released', 'dir-a', 'in_progress', 'queued'),
            ('staff:pat', 'directory.paused', 'dir-a', 'in_progress', 'queued'),
            ('reaper', 'directory.lease_expired', 'dir-b', 'in_progress', 'queued') $$,
  'release, pause and reap audit every directory they send back to the queue');

select results_eq(
  format($$ select actor, directory_id, from_status, to_status from audit_log
             where job_id = %L and action = 'directory.cancelled' order by directory_id $$, :'job'),
  $$ values ('staff:cal', 'dir-a', 'queued', 'skipped'), ('staff:cal', 'dir-b', 'queued', 'skipped') $$,
  'cancel audits every directory it skips');

select results_eq(
  format($$ select directory_id, status::text, last_message from job_directories
             where job_id = %L order by position $$, :'job'),
  $$ values ('dir-a', 'skipped', 'job cancelled'), ('dir-b', 'skipped', 'job cancelled') $$,
  'the cancelled job''s directories say why they were skipped');

select is(
  (select count(*)::int from audit_log a
    where a.job_id = :'job' and a.directory_id is not null
      and not exists (select 1 from job_directories d
                       where d.job_id = a.job_id and d.directory_id = a.directory_id)),
  0, 'every directory audit row names a directory of the job');

select * from finish();
rollback;
