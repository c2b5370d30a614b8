-- audit_log's counter trigger (20261208001120) adds to jobs_completed only for statements
-- that hold a 'job.completed' row: any other audit row writes no counter row, and a
-- completion still counts once, in its transaction. No API role can call the trigger
-- function or write the counters.
begin;
set search_path = public, extensions;
select plan(6);
-- Calls made in this transaction, to see that the helper is not called for nothing.
set local track_functions = 'all';

select directories_sync($$[
  {"id": "dir-a", "name": "A", "homepage": "http://127.0.0.1:9/a", "tier": "starter", "priority": 1, "mode": "auto", "enabled": true}
]$$::jsonb) \gset
select j.id as job_id from jobs_enqueue(dev.create_paid_order('audited@example.com', 'starter')) j \gset
select (metrics_totals() ->> 'jobs_completed')::int as completed_before \gset
select count(*) as rows_before from private.metrics_counters where shard = pg_backend_pid() \gset

select coalesce(pg_stat_get_xact_function_calls('private.metrics_counters_add'::regproc), 0)
  as calls_before \gset
select private.audit('test', 'job.noted', :'job_id');
select is(coalesce(pg_stat_get_xact_function_calls('private.metrics_counters_add'::regproc), 0),
  :'calls_before'::bigint, 'an audit row that is not a completion does not call the counters'' helper');
select is((select count(*) from private.metrics_counters where shard = pg_backend_pid()),
  :'rows_before'::bigint, 'an audit row that is not a completion writes no counter row');

select private.audit('test', 'job.completed', :'job_id');
select is((metrics_totals() ->> 'jobs_completed')::int, :completed_before + 1,
  'a completion is counted in its transaction');
select is((metrics_totals() ->> 'jobs_completed')::bigint,
  (select count(*) from audit_log where action = 'job.completed'),
  'jobs_completed equals a raw recount');

select ok(not has_function_privilege(r, 'private.audit_log_count_inserted()', 'execute'),
          format('%s cannot call the audit counter trigger function', r))
  from unnest(array['anon', 'authenticated']) as r;

select * from finish();
rollback;
