-- audit_log: every transition of a job and its directories leaves one row naming who did
-- it (system, worker:<id>, reaper, or the staff actor); the log is append-only for everyone.
begin;
set search_path = public, extensions;
select plan(11);

select directories_sync($$[
  {"id": "dir-a", "name": "A", "homepage": "http://127.0.0.1:9/a", "tier": "starter", "priority": 1, "mode": "auto", "enabled": true},
  {"id": "dir-b", "name": "B", "homepage": "http://127.0.0.1:9/b", "tier": "starter", "priority": 2, "mode": "auto", "enabled": true}
]$$::jsonb) \gset

-- One job through every kind of transition.
select id as job from jobs_enqueue(dev.create_paid_order('audit@example.com', 'starter')) \gset
select lease_token as t1 from jobs_next('w1', 300) \gset
select jobs_heartbeat(:'job', :'t1', 300) \gset
select jobs_start_directory(:'job', :'t1', 'dir-a') \gset
select jobs_report_attempt(job_id => :'job', lease_token => :'t1',
  report => '{"directory_id": "dir-a", "attempt": 1, "outcome": "permanent_error", "error_code": "site_down"}') \gset
select jobs_release(:'job', :'t1') \gset
select jobs_pause(:'job', 'staff:alice') \gset
select jobs_resume(:'job', 'staff:alice') \gset
select lease_token as t2 from jobs_next('w2', 300) \gset
select jobs_report_attempt(job_id => :'job', lease_token => :'t2',
  report => '{"directory_id": "dir-b", "attempt": 1, "outcome": "success", "confirmed": true}') \gset
select jobs_complete(:'job', :'t2') \gset
select jobs_retry(:'job', null, 'staff:bob') \gset
select lease_token as t3 from jobs_next('w3', 300) \gset
update jobs set lease_expires_at = now() - interval '1 second' where id = :'job';
select count(*) as reaped from jobs_reap_expired() \gset
select jobs_cancel(:'job', 'staff:carol') \gset
select count(*) as nothing from jobs_next('w4', 300) \gset

select results_eq(
  format($$ select actor, action, directory_id, from_status, to_status from audit_log
            where job_id = %L order by id $$, :'job'),
  $$ values
    ('system',          'job.enqueued',               null,    null,          'pending'),
    ('worker:w1',       'job.claimed',                null,    'pending',     'in_progress'),
    ('worker:w1',       'directory.started',          'dir-a', 'queued',      'in_progress'),
    ('worker:w1',       'directory.attempt_reported', 'dir-a', 'in_progress', 'failed'),
    ('worker:w1',       'job.released',               null,    'in_progress', 'pending'),
    ('staff:alice',     'job.paused',                 null,    'pending',     'paused'),
    ('staff:alice',     'job.resumed',                null,    'paused',      'pending'),
    ('worker:w2',       'job.claimed',                null,    'pending',     'in_progress'),
    ('worker:w2',       'directory.attempt_reported', 'dir-b', 'queued',      'submitted'),
    -- 1 of the package's 50 delivered: the shortfall is owed as the job completes.
    ('system',          'order.shortfall_owed',       null,    null,          null),
    ('worker:w2',       'job.completed',              null,    'in_progress', 'complete'),
    ('staff:bob',       'directory.retried',          'dir-a', 'failed',      'queued'),
    ('staff:bob',       'job.retried',                null,    'complete',    'pending'),
    ('worker:w3',       'job.claimed',                null,    'pending',     'in_progress'),
    ('reaper',          'job.lease_expired',          null,    'in_progress', 'pending'),
    ('staff:carol',     'directory.cancelled',        'dir-a', 'queued',      'skipped'),
    ('staff:carol',     'job.cancelled',              null,    'pending',     'cancelled')
  $$,
  'every transition wrote exactly one audit row, in order, with its actor (heartbeats and empty claims write none)');

select is((select details from audit_log where job_id = :'job' and action = 'job.lease_expired'),
  '{"worker_id": "w3", "lost_leases": 1}'::jsonb, 'the reaper row names the worker whose lease expired');

-- A refused call is not audited.
select count(*)::int as rows_before from audit_log \gset
select throws_ok(format('select jobs_resume(%L, %L)', :'job', 'staff:dan'), 'DB002', NULL,
  'set-up: resuming a cancelled job is refused');
select is((select count(*)::int from audit_log), :rows_before, 'the refused call wrote no audit row');

-- Append-only, whoever asks --------------------------------------------------------------
select throws_ok($$ update audit_log set actor = 'someone else' $$, 'DB002',
  'audit_log is append-only: UPDATE refused', 'update on audit_log is refused (even for the owner)');
select throws_ok($$ delete from audit_log $$, 'DB002',
  'audit_log is append-only: DELETE refused', 'delete on audit_log is refused');
select throws_ok($$ truncate audit_log $$, 'DB002',
  'audit_log is append-only: TRUNCATE refused', 'truncate on audit_log is refused');

set local role service_role;
select throws_ok($$ update audit_log set actor = 'someone else' where job_id is not null $$, 'DB002', NULL,
  'service_role cannot update audit_log');
select throws_ok($$ delete from audit_log where job_id is not null $$, 'DB002', NULL,
  'service_role cannot delete from audit_log');
reset role;

set local role authenticated;
select set_config('request.jwt.claims', '{"role":"authenticated","sub":"00000000-0000-0000-0000-0000000000aa","app_metadata":{"role":"staff"}}', true) \gset
select throws_ok($$ delete from audit_log $$, '42501', NULL,
  'a signed-in user (even staff) has no delete privilege on audit_log');
reset role;

select results_eq($$ select count(*)::int, count(*) filter (where actor = 'someone else')::int from audit_log $$,
  format('values (%s, 0)', :rows_before), 'all audit rows are still there, unchanged');

select * from finish();
rollback;
