-- metrics_totals()' attempt totals come from the charts' rollups (20261208001110): a report
-- writes no attempt counter rows, every total still equals a raw recount of job_results in
-- the same transaction, and a recount rebuilds them to the same values. The API roles still
-- cannot read the rollups or call attempts_count; metrics_totals() stays the service role's.
begin;
set search_path = public, extensions;
select plan(8);

select directories_sync($$[
  {"id": "dir-a", "name": "A", "homepage": "http://127.0.0.1:9/a", "tier": "starter", "priority": 1, "mode": "auto", "enabled": true},
  {"id": "dir-b", "name": "B", "homepage": "http://127.0.0.1:9/b", "tier": "starter", "priority": 2, "mode": "auto", "enabled": true}
]$$::jsonb) \gset
select j.id as job_id from jobs_enqueue(dev.create_paid_order('rolled@example.com', 'starter')) j \gset
set local role service_role;
select lease_token from jobs_next(worker_id => 'w1', lease_seconds => 60) \gset
select jobs_report_attempt(:'job_id', :'lease_token',
  '{"directory_id": "dir-a", "attempt": 1, "outcome": "success", "confirmed": true}'::jsonb);
select jobs_report_attempt(:'job_id', :'lease_token',
  '{"directory_id": "dir-b", "attempt": 1, "outcome": "transient_error", "captcha_kind": "recaptcha", "captcha_solved": false, "error_code": "proxy_error"}'::jsonb);
select jobs_report_attempt(:'job_id', :'lease_token',
  '{"directory_id": "dir-b", "attempt": 2, "outcome": "success", "confirmed": false}'::jsonb);
reset role;

select is_empty(
  $$ select m.name from private.metrics_counters m
      where m.name like 'attempts%' or m.name in ('retries', 'captchas_solved',
                                                  'captchas_failed', 'proxy_failures') $$,
  'reports write no attempt counter rows');

-- The totals a raw recount gives, in metrics_totals()' shape.
create temp table raw_totals as
select jsonb_build_object(
  'attempts_by_outcome', (select jsonb_object_agg(o.outcome, (select count(*) from job_results r where r.outcome = o.outcome))
                            from unnest(enum_range(null::attempt_outcome)) o(outcome)),
  'attempts_finished', jsonb_build_object(
    'succeeded', (select count(*) from job_results r where private.attempt_result(r.outcome, r.confirmed) = 'succeeded'),
    'failed', (select count(*) from job_results r where private.attempt_result(r.outcome, r.confirmed) = 'failed')),
  'retries', (select count(*) from job_results r where r.attempt > 1),
  'captchas_solved', (select count(*) from job_results r where r.captcha_solved),
  'captchas_failed', (select count(*) from job_results r where r.captcha_kind is not null and r.captcha_solved is not true),
  'proxy_failures', (select count(*) from job_results r where r.error_code = 'proxy_error'),
  'jobs_completed', (select count(*) from audit_log a where a.action = 'job.completed')) as totals;

select is(metrics_totals(), (select totals from raw_totals),
  'metrics_totals equals a raw recount in the same transaction');
select is((metrics_totals() ->> 'retries')::int, 1, 'the retry is counted');
select is((metrics_totals() ->> 'proxy_failures')::int, 1, 'the proxy failure is counted');

select metrics_counters_fold() \gset
select is(metrics_totals(), (select totals from raw_totals), 'the fold leaves the totals unchanged');
select metrics_counters_recount();
select is(metrics_totals(), (select totals from raw_totals), 'a recount rebuilds the same totals');

set local role service_role;
select throws_ok('select private.attempts_count(''{}'', 0)', '42501', NULL,
  'the service role cannot add attempts to the rollups');
select throws_ok('select count(*) from private.attempt_rollups', '42501', NULL,
  'the service role cannot read the rollups directly');
reset role;

select * from finish();
rollback;
