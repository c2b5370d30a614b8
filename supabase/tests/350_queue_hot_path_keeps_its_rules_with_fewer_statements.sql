-- The queue's hot path made cheaper (20261208000700, 20261208000710) keeps every rule: one
-- audit row per fact, the same refusals in the same words, the lease proven by the job row
-- on time and by the ledger when late, the worker's row kept by claim and heartbeat, the
-- snapshot CHECK on jobs; and the functions it calls per step are PL/pgSQL (plans kept), the
-- new ledger helper private to the database.
begin;
set search_path = public, extensions;
select plan(23);

select directories_sync($$[
  {"id": "dir-a", "name": "A", "homepage": "http://127.0.0.1:9/a", "tier": "starter", "priority": 1, "mode": "auto", "enabled": true},
  {"id": "dir-b", "name": "B", "homepage": "http://127.0.0.1:9/b", "tier": "starter", "priority": 2, "mode": "auto", "enabled": true}
]$$::jsonb) \gset
select dev.create_paid_order('hotpath@example.com', 'starter') as order_id \gset
select id as job from jobs_enqueue(:'order_id') \gset
select lease_token as token from jobs_next('worker-hot', 300) \gset

-- The functions each step calls are PL/pgSQL: a LANGUAGE sql one is planned on every call.
select is_empty(
  $$ select p.oid::regprocedure::text from pg_proc p join pg_language l on l.oid = p.prolang
      where l.lanname = 'sql'
        and p.oid in ('private.audit'::regproc, 'private.worker_seen'::regproc,
                      'private.notifications_enqueue'::regproc, 'private.status_after'::regproc,
                      'private.business_missing_fields'::regproc,
                      'private.country_requires_postcode'::regproc,
                      'private.package_counts'::regproc, 'private.attempt_result'::regproc) $$,
  'the hot path''s helpers are PL/pgSQL');

-- The worker's row: taken on claim, kept by heartbeat.
select is((select current_job_id from workers where id = 'worker-hot'), :'job'::uuid,
  'the claim records the worker''s current job');
update workers set last_seen_at = now() - interval '1 hour' where id = 'worker-hot';
select jobs_heartbeat(:'job', :'token', 300) \gset
select ok((select last_seen_at > now() - interval '1 minute' from workers where id = 'worker-hot'),
  'a heartbeat marks the worker seen');

-- Refusals, in the same words (DB005), and nothing written for them.
select throws_ok(
  format($$ select jobs_report_attempt(%L, %L, '{"attempt": 1, "outcome": "success"}') $$,
         :'job', :'token'),
  'DB005', 'directory_id is required', 'a report without its directory is refused by name');
select throws_ok(
  format($$ select jobs_report_attempt(%L, %L,
           '{"directory_id": "dir-a", "attempt": 1, "outcome": "success", "colour": "red"}') $$,
         :'job', :'token'),
  'DB005', 'colour is not a field of a report', 'an unknown field is refused by name');
select throws_ok(
  format($$ select jobs_report_attempt(%L, %L,
           '{"directory_id": "dir-a", "attempt": 1, "outcome": "transient_error"}') $$,
         :'job', :'token'),
  'DB005', 'error_code is required when outcome is transient_error',
  'a transient error without its code is refused');
select throws_ok(
  format($$ select jobs_report_attempt(%L, %L,
           '{"directory_id": "dir-a", "attempt": 1, "outcome": "success", "wait_kind": "email"}') $$,
         :'job', :'token'),
  'DB005', 'wait_kind is only for outcome parked (got success)',
  'a wait on an attempt that did not park is refused');
select throws_ok(
  format($$ select jobs_report_attempt(%L, %L,
           '{"directory_id": "dir-a", "attempt": 2, "outcome": "success", "confirmed": true}') $$,
         :'job', :'token'),
  'DB005', 'attempt must be 1 for directory dir-a (got 2)', 'an attempt out of turn is refused');
select throws_ok(
  format($$ select jobs_report_attempt(%L, %L,
           '{"directory_id": "dir-a", "attempt": 1, "outcome": "success", "confirmed": true}') $$,
         :'job', gen_random_uuid()),
  'DB001', null, 'a token this job was never given is refused (lease lost)');
select is((select count(*)::int from job_results where job_id = :'job'), 0,
  'no refused report wrote an attempt');

-- On time: one attempt row and one audit row per report; a resend adds neither.
select jobs_report_attempt(:'job', :'token',
  '{"directory_id": "dir-a", "attempt": 1, "outcome": "transient_error", "error_code": "timeout"}') \gset
select jobs_report_attempt(:'job', :'token',
  '{"directory_id": "dir-a", "attempt": 2, "outcome": "success", "confirmed": true}') \gset
select jobs_report_attempt(:'job', :'token',
  '{"directory_id": "dir-a", "attempt": 2, "outcome": "success", "confirmed": true}') \gset
select is((select status::text from job_directories where job_id = :'job' and directory_id = 'dir-a'),
  'submitted', 'a retry then a confirmed success submits the directory');
select is((select count(*)::int from job_results where job_id = :'job'), 2,
  'two attempts, two rows (the resend added none)');
select results_eq(
  format($$ select from_status, to_status, details ->> 'attempt' from audit_log
             where job_id = %L and action = 'directory.attempt_reported' order by id $$, :'job'),
  $$ values ('queued', 'queued', '1'), ('queued', 'submitted', '2') $$,
  'one audit row per reported attempt, with its transition');

-- Late: a report on a lease the job no longer holds is proven by the ledger and kept as late.
select jobs_release(:'job', :'token', 'shutdown') \gset
select jobs_report_attempt(:'job', :'token',
  '{"directory_id": "dir-b", "attempt": 1, "outcome": "permanent_error", "error_code": "site_down"}') \gset
select is((select late from job_results where job_id = :'job' and directory_id = 'dir-b'), true,
  'a report after the lease was released is recorded, as late');
select throws_ok(
  format($$ select jobs_report_attempt(%L, %L,
           '{"directory_id": "dir-b", "attempt": 1, "outcome": "skipped"}') $$,
         :'job', gen_random_uuid()),
  'DB001', null, 'a late report on a token the job never had is refused');

-- A full cycle's audit: one row per fact. dir-b was settled by that late report, so the next
-- lease's report on it is kept with that story (late, proven by the ledger) and not applied.
select lease_token as token2 from jobs_next('worker-hot', 300) \gset
select jobs_report_attempt(:'job', :'token2',
  '{"directory_id": "dir-b", "attempt": 1, "outcome": "success", "confirmed": true}') \gset
select jobs_complete(:'job', :'token2') \gset
select results_eq(
  format($$ select action, count(*)::int from audit_log where job_id = %L
             and action in ('job.claimed', 'job.released', 'job.completed',
                            'directory.attempt_reported', 'directory.late_report')
             group by action order by action $$, :'job'),
  $$ values ('directory.attempt_reported', 2), ('directory.late_report', 2), ('job.claimed', 2),
            ('job.completed', 1), ('job.released', 1) $$,
  'claims, reports (on time and late), release and completion: one audit row each');
select is((select count(*)::int from job_results
            where job_id = :'job' and directory_id = 'dir-b' and late and lease_token = :'token2'), 1,
  'the on-time report on a directory a late report settled is kept as late');
select is((select current_job_id from workers where id = 'worker-hot'), null,
  'completion clears the worker''s current job');

-- The snapshot CHECK on jobs still holds (its function is PL/pgSQL now).
select throws_ok(
  format($$ update jobs set business_snapshot = business_snapshot - 'phone' where id = %L $$, :'job'),
  '23514', null, 'a job''s snapshot cannot lose a required field');

-- Grants: the ledger helper is the database's own; the report is the service role's.
select ok(not has_function_privilege('service_role', 'private.job_lease(uuid, uuid)', 'execute')
          and not has_function_privilege('authenticated', 'private.job_lease(uuid, uuid)', 'execute')
          and not has_function_privilege('anon', 'private.job_lease(uuid, uuid)', 'execute'),
  'nobody outside the database calls private.job_lease');
select ok(has_function_privilege('service_role', 'public.jobs_report_attempt(uuid, uuid, jsonb)', 'execute'),
  'the service role reports attempts');
select ok(not has_function_privilege('anon', 'public.jobs_report_attempt(uuid, uuid, jsonb)', 'execute')
          and not has_function_privilege('authenticated', 'public.jobs_report_attempt(uuid, uuid, jsonb)', 'execute'),
  'customers and anonymous callers cannot report attempts');

select is_empty(
  $$ select tablename from pg_tables where schemaname = 'public' and not rowsecurity $$,
  'every public table has RLS on');

select * from finish();
rollback;
