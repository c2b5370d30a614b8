-- The staff jobs list and drill-down (20261208000600-0630): a directory skipped by its job's cancel
-- is `cancelled` in private.job_directory_states, any other skip stays `skipped`; staff (and
-- the service role) read the states, customers do not. staff_job_counts_by_status() and
-- queue_stats()'s jobs (the service role's way to the same counters) equal a recount of the
-- jobs; the function and staff_review_counts() refuse everyone but staff. And the jobs list's index is in the keyset's order.
begin;
set search_path = public, extensions;
select plan(19);

select directories_sync($$[
  {"id": "dir-a", "name": "A", "homepage": "http://127.0.0.1:9/a", "tier": "starter", "priority": 1, "mode": "auto", "enabled": true},
  {"id": "dir-b", "name": "B", "homepage": "http://127.0.0.1:9/b", "tier": "starter", "priority": 2, "mode": "auto", "enabled": true}
]$$::jsonb) \gset
select id as cancelled_job from jobs_enqueue(dev.create_paid_order('cancelled@example.com', 'starter')) \gset
select id as skipped_job from jobs_enqueue(dev.create_paid_order('skipped@example.com', 'starter')) \gset
select jobs_cancel(job_id => :'cancelled_job', actor => 'staff:ann@directorybolt.test', reason => 'Asked by you.');
-- A skip that was not the cancel's (e.g. a directory the business does not qualify for).
update job_directories set status = 'skipped' where job_id = :'skipped_job' and directory_id = 'dir-b';
update job_directories set status = 'needs_review' where job_id = :'skipped_job' and directory_id = 'dir-a';

select results_eq(
  format($$ select directory_id, state from private.job_directory_states
             where job_id in (%L, %L) order by job_id = %L desc, directory_id $$,
         :'cancelled_job', :'skipped_job', :'cancelled_job'),
  $$ values ('dir-a', 'cancelled'), ('dir-b', 'cancelled'), ('dir-a', 'needs_review'), ('dir-b', 'skipped') $$,
  'skipped by the cancel reads cancelled; any other state, another skip included, reads as it is');

select ok(exists (select 1 from pg_indexes where indexname = 'jobs_created_at_id_idx'
                    and indexdef like '%(created_at, id)'),
  'the jobs list''s keyset (created_at, id) has its index');
select ok(not exists (select 1 from pg_indexes where indexname = 'jobs_created_at_idx'),
  'the offset list''s (created_at desc, id) index is gone');
-- A concurrent build that failed leaves an invalid index under the same name, which
-- `if not exists` would then keep: deploy.md says how to find and rebuild one.
select ok(not exists (select 1 from pg_index i join pg_class c on c.oid = i.indexrelid
                       where c.relname in ('jobs_created_at_id_idx', 'audit_log_directory_cancelled_idx')
                         and not (i.indisvalid and i.indisready)),
  'the concurrently built indexes are valid');

-- Staff on the dashboard (dbolt_staff with the staff claim).
select set_config('request.jwt.claims', '{"role":"authenticated","sub":"00000000-0000-0000-0000-0000000000aa","email":"ann@directorybolt.test","app_metadata":{"role":"staff"}}', true) \gset
set local role dbolt_staff;
select results_eq(
  format('select state, count(*)::int from private.job_directory_states where job_id = %L group by state', :'cancelled_job'),
  $$ values ('cancelled', 2) $$, 'staff read the states');
select results_eq('select status::text, jobs::int from staff_job_counts_by_status() where jobs > 0',
  $$ values ('pending', 1), ('cancelled', 1) $$, 'staff read the jobs counted by status');
select results_eq('select needs_review::int, needs_action::int from staff_review_counts()',
  $$ values (1, 0) $$, 'staff read the review counts');
reset role;

-- The orchestrator's staff API: the service role, no JWT.
select set_config('request.jwt.claims', '', true) \gset
set local role service_role;
select results_eq(
  $$select s.status::text, coalesce((queue_stats() -> 'jobs' ->> s.status::text)::int, -1)
      from unnest(enum_range(null::job_status)) s(status) order by s.status$$,
  'select s.status::text, (select count(*) from jobs j where j.status = s.status)::int
     from unnest(enum_range(null::job_status)) s(status) order by s.status',
  'the service role reads the same counters through queue_stats(): a recount, every status');
select throws_ok('select * from staff_job_counts_by_status()', '42501', NULL,
  'the job counts are staff''s alone: the service role without a staff JWT is refused');
select throws_ok('select * from staff_review_counts()', '42501', NULL,
  'the review counts are staff''s alone: the service role without a staff JWT is refused');
select results_eq(
  format('select state from private.job_directory_states where job_id = %L and directory_id = %L', :'skipped_job', 'dir-b'),
  $$ values ('skipped') $$, 'the service role reads the states');
reset role;

-- A customer, signed in: refused all three.
select set_config('request.jwt.claims', '{"role":"authenticated","sub":"00000000-0000-0000-0000-00000000000c","email":"cancelled@example.com"}', true) \gset
set local role authenticated;
select throws_ok('select * from staff_job_counts_by_status()', '42501', NULL, 'a customer cannot read the job counts');
select throws_ok('select * from staff_review_counts()', '42501', NULL, 'nor the review counts');
select throws_ok('select * from private.job_directory_states', '42501', NULL, 'nor the directory states');
reset role;
-- dbolt_staff without the staff claim is a customer too.
set local role dbolt_staff;
select throws_ok('select * from staff_job_counts_by_status()', '42501', NULL, 'dbolt_staff without the staff claim cannot read the job counts');
reset role;
-- Claims with no role key at all (auth.role() is null) are no way in either.
select set_config('request.jwt.claims', '{"sub":"00000000-0000-0000-0000-00000000000c"}', true) \gset
set local role dbolt_staff;
select throws_ok('select * from staff_job_counts_by_status()', '42501', NULL, 'claims without a role cannot read the job counts as dbolt_staff');
reset role;
set local role authenticated;
select throws_ok('select * from staff_job_counts_by_status()', '42501', NULL, 'nor as authenticated');
reset role;

set local role anon;
select throws_ok('select * from staff_job_counts_by_status()', '42501', NULL, 'anon cannot read the job counts');
select throws_ok('select * from staff_review_counts()', '42501', NULL, 'nor the review counts');
reset role;

select * from finish();
rollback;
