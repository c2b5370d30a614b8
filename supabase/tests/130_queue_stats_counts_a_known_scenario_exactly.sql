-- queue_stats(): the single read behind /healthz, /metrics and the dashboard. A small known
-- scenario must come out with exactly the right counts.
begin;
set search_path = public, extensions;
select plan(18);

select directories_sync($$[
  {"id": "dir-a", "name": "A", "homepage": "http://127.0.0.1:9/a", "tier": "starter", "priority": 1, "mode": "auto", "enabled": true},
  {"id": "dir-b", "name": "B", "homepage": "http://127.0.0.1:9/b", "tier": "starter", "priority": 2, "mode": "auto", "enabled": true},
  {"id": "dir-c", "name": "C", "homepage": "http://127.0.0.1:9/c", "tier": "starter", "priority": 3, "mode": "auto", "enabled": true},
  {"id": "dir-g", "name": "G", "homepage": "http://127.0.0.1:9/g", "tier": "growth", "priority": 1, "mode": "auto", "enabled": true}
]$$::jsonb) \gset

select ok(queue_stats() ?& array['jobs', 'directories', 'tiers', 'oldest_pending_seconds', 'active_workers',
    'completed_last_hour', 'retry_rate', 'captchas_solved_last_hour', 'captchas_failed_last_hour',
    'proxy_failures_last_hour'],
  'queue_stats has every documented key');
select is(queue_stats() -> 'jobs',
  '{"pending": 0, "in_progress": 0, "waiting": 0, "paused": 0, "complete": 0, "failed": 0, "cancelled": 0}'::jsonb,
  'an empty queue reports zero jobs in every status');

-- J1 (starter): worked and completed: 4 attempts, one a retry, two captchas, one proxy error.
select id as j1 from jobs_enqueue(dev.create_paid_order('one@example.com', 'starter')) \gset
select lease_token as t1 from jobs_next('worker-1', 300) \gset
select jobs_report_attempt(job_id => :'j1', lease_token => :'t1',
  report => '{"directory_id": "dir-a", "attempt": 1, "outcome": "success", "confirmed": true, "captcha_kind": "image", "captcha_solved": true}') \gset
select jobs_report_attempt(job_id => :'j1', lease_token => :'t1',
  report => '{"directory_id": "dir-b", "attempt": 1, "outcome": "transient_error", "error_code": "proxy_error", "captcha_kind": "recaptcha_v2", "captcha_solved": false}') \gset
select jobs_report_attempt(job_id => :'j1', lease_token => :'t1',
  report => '{"directory_id": "dir-b", "attempt": 2, "outcome": "success", "confirmed": true}') \gset
select jobs_report_attempt(job_id => :'j1', lease_token => :'t1',
  report => '{"directory_id": "dir-c", "attempt": 1, "outcome": "permanent_error", "error_code": "site_down"}') \gset
select jobs_complete(:'j1', :'t1') \gset
-- J3 (growth): in progress with worker-2.
select id as j3 from jobs_enqueue(dev.create_paid_order('three@example.com', 'growth')) \gset
select id as claimed3 from jobs_next('worker-2', 300) \gset
-- J2 (starter): pending for two minutes. J4 paused. J5 cancelled.
select id as j2 from jobs_enqueue(dev.create_paid_order('two@example.com', 'starter')) \gset
update jobs set created_at = now() - interval '120 seconds' where id = :'j2';
select id as j4 from jobs_enqueue(dev.create_paid_order('four@example.com', 'starter')) \gset
select jobs_pause(:'j4', 'staff:alice') \gset
select id as j5 from jobs_enqueue(dev.create_paid_order('five@example.com', 'starter')) \gset
select jobs_cancel(:'j5', 'staff:alice') \gset
select is(:'claimed3'::uuid, :'j3'::uuid, 'set-up: the growth job is the one in progress');

select queue_stats() as stats \gset
select is(:'stats'::jsonb -> 'jobs',
  '{"pending": 1, "in_progress": 1, "waiting": 0, "paused": 1, "complete": 1, "failed": 0, "cancelled": 1}'::jsonb,
  'jobs are counted per status');
-- Queue work only: J2 (3 queued), J3 (4 queued); J1 complete, J4 paused (staff's backlog,
-- migration 20261209000110) and J5 cancelled excluded.
select is(:'stats'::jsonb -> 'directories',
  '{"queued": 7, "in_progress": 0, "submitted": 0, "needs_review": 0, "needs_action": 0,
    "failed": 0, "skipped": 0, "live": 0, "waiting": 0, "already_listed": 0,
    "live_mismatch": 0, "not_live": 0}'::jsonb,
  'directories are counted per status over pending, in-progress and waiting jobs');
select is(:'stats'::jsonb -> 'tiers' -> 'starter', '{"running": 0, "throttled": false, "max_running": 8, "effective_max_running": 8}'::jsonb,
  'starter: no job running (the completed one released its slot)');
select is(:'stats'::jsonb -> 'tiers' -> 'growth', '{"running": 1, "throttled": false, "max_running": 6, "effective_max_running": 6}'::jsonb,
  'growth: one job running of six');
select is((:'stats'::jsonb ->> 'oldest_pending_seconds')::int, 120, 'the oldest pending job waits 120 s');
select is((:'stats'::jsonb ->> 'active_workers')::int, 2, 'two workers were seen in the last two minutes');
select is((:'stats'::jsonb ->> 'completed_last_hour')::int, 1, 'one job completed in the last hour');
select is((:'stats'::jsonb ->> 'attempts_last_hour')::int, 4, 'four attempts in the last hour');
select is((:'stats'::jsonb ->> 'retry_rate')::numeric, 0.25, 'one attempt in four was a retry: retry_rate 0.25');
select is((:'stats'::jsonb ->> 'captchas_solved_last_hour')::int, 1, 'one captcha solved');
select is((:'stats'::jsonb ->> 'captchas_failed_last_hour')::int, 1, 'one captcha failed');
select is((:'stats'::jsonb ->> 'proxy_failures_last_hour')::int, 1, 'one proxy failure');

-- The windows are really the last hour / two minutes.
update job_results set reported_at = now() - interval '2 hours' where job_id = :'j1' and directory_id = 'dir-b';
update jobs set completed_at = now() - interval '2 hours' where id = :'j1';
update workers set last_seen_at = now() - interval '5 minutes' where id = 'worker-1';
select queue_stats() as stats2 \gset
select results_eq(
  format($$ select (%L::jsonb ->> 'completed_last_hour')::int, (%L::jsonb ->> 'attempts_last_hour')::int,
                   (%L::jsonb ->> 'retry_rate')::numeric, (%L::jsonb ->> 'captchas_failed_last_hour')::int,
                   (%L::jsonb ->> 'proxy_failures_last_hour')::int, (%L::jsonb ->> 'active_workers')::int $$,
         :'stats2', :'stats2', :'stats2', :'stats2', :'stats2', :'stats2'),
  $$ values (0, 2, 0::numeric, 0, 0, 1) $$,
  'activity older than the window is not counted');

update jobs set created_at = now() - interval '30 seconds' where id = :'j4';
select jobs_resume(:'j4', 'staff:alice') \gset
select is((queue_stats() ->> 'oldest_pending_seconds')::int, 120,
  'oldest_pending_seconds follows the oldest pending job');
select id as claimed2 from jobs_next('worker-3', 300) \gset
select is((queue_stats() ->> 'oldest_pending_seconds')::int, 30,
  'once it is claimed, the next oldest pending job counts');

select * from finish();
rollback;
