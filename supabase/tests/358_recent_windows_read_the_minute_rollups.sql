-- The recent windows read minute rollups (20261209000100, 0110, 0120): queue_stats()' last
-- hour and provider_health()'s window equal a raw count of the same window, whichever second
-- the window starts at (the part-minute at its start is read raw); old minutes are neither
-- written nor kept; the staff success table's window starts at the whole hour; the API roles
-- cannot read the minute rows.
begin;
set search_path = public, extensions;
select plan(12);

select directories_sync($$[
  {"id": "dir-a", "name": "A", "homepage": "http://127.0.0.1:9/a", "tier": "starter", "priority": 1, "mode": "auto", "enabled": true},
  {"id": "dir-b", "name": "B", "homepage": "http://127.0.0.1:9/b", "tier": "starter", "priority": 2, "mode": "auto", "enabled": true},
  {"id": "dir-h", "name": "H", "homepage": "http://127.0.0.1:9/h", "tier": "starter", "priority": 3, "mode": "auto", "enabled": true}
]$$::jsonb) \gset
select j.id as job_id from jobs_enqueue(dev.create_paid_order('minutes@example.com', 'starter')) j \gset
select lease_token from jobs_next(worker_id => 'w1', lease_seconds => 60) \gset
-- Attempts spread over the last 70 minutes, one every 37 seconds (so windows start inside
-- minutes), with captchas, proxies and proxy failures among them; one more 30 hours ago.
insert into job_results (job_id, directory_id, attempt, outcome, confirmed, error_code,
                         captcha_kind, captcha_solved, proxy, reported_at, lease_token)
select :'job_id', case when n % 2 = 0 then 'dir-a' else 'dir-b' end, 1 + n,
       case when n % 5 = 0 then 'transient_error' else 'success' end::attempt_outcome,
       n % 4 = 0 and n % 5 <> 0,
       case when n % 10 = 0 then 'proxy_error' when n % 5 = 0 then 'site_down' end,
       case when n % 3 = 0 then 'recaptcha' end, case when n % 3 = 0 then n % 2 = 0 end,
       case when n % 7 = 0 then 'http://proxy.test:8080' end,
       now() - make_interval(secs => 37 * n), :'lease_token'::uuid
  from generate_series(0, 113) as n;
insert into job_results (job_id, directory_id, attempt, outcome, confirmed, reported_at, lease_token)
values (:'job_id', 'dir-a', 1000, 'success', true, now() - interval '30 hours', :'lease_token'::uuid);

-- The window's counts from the raw rows, as the readers define them.
create temp table raw_window as
select s.secs,
       count(r.*) as attempts, count(*) filter (where r.attempt > 1) as retries,
       count(*) filter (where r.captcha_solved) as solved,
       count(*) filter (where r.captcha_kind is not null) as captchas,
       count(*) filter (where r.captcha_kind is not null and r.captcha_solved is not true) as failed,
       count(*) filter (where r.proxy is not null or r.error_code = 'proxy_error') as proxied,
       count(*) filter (where r.error_code = 'proxy_error') as proxy_failures
  from (values (3600), (900), (301), (59)) as s(secs)
  left join job_results r on r.reported_at >= now() - make_interval(secs => s.secs)
 group by s.secs;

select is(
  (select jsonb_build_array(q ->> 'attempts_last_hour', q ->> 'captchas_solved_last_hour',
                            q ->> 'captchas_failed_last_hour', q ->> 'proxy_failures_last_hour',
                            q ->> 'retry_rate')
     from (select queue_stats() as q) x),
  (select jsonb_build_array(attempts::text, solved::text, failed::text, proxy_failures::text,
                            round(retries::numeric / attempts, 4)::text)
     from raw_window where secs = 3600),
  'queue_stats counts the last hour as the raw rows do');
select cmp_ok((select attempts from raw_window where secs = 3600), '>', 90::bigint,
  'set-up: the last hour holds about a hundred attempts');
select results_eq(
  $$ select s.secs, (provider_health(s.secs) ->> 'captcha_attempts')::bigint,
            (provider_health(s.secs) ->> 'captcha_failures')::bigint,
            (provider_health(s.secs) ->> 'proxy_attempts')::bigint,
            (provider_health(s.secs) ->> 'proxy_failures')::bigint
       from (values (900), (301), (59)) as s(secs) order by 1 $$,
  $$ select secs, captchas, failed, proxied, proxy_failures from raw_window
      where secs in (900, 301, 59) order by 1 $$,
  'provider_health counts windows starting inside a minute as the raw rows do');
select ok((select proxied > proxy_failures and proxy_failures > 0 from raw_window where secs = 3600),
  'set-up: some attempts went through a proxy without failing on it');
select throws_ok('select provider_health(86401)', 'DB005',
  'window_seconds must be between 1 and 86400 (24 hours)',
  'provider_health refuses a window longer than the minutes kept');

select is((select count(*) from private.attempt_minute_rollups where bucket < now() - interval '25 hours'),
  0::bigint, 'an attempt older than the minutes kept writes no minute row');
select is((select sum(attempts) from private.attempt_minute_rollups), 114::numeric,
  'every attempt of the minutes kept is in a minute row');

-- An attempt moved out of the minutes kept leaves its minute; the fold prunes stale rows.
update job_results set reported_at = reported_at - interval '2 days'
 where reported_at > now() - interval '1 minute';
insert into private.attempt_minute_rollups (bucket, shard, attempts)
values (date_bin('1 minute', now() - interval '26 hours', timestamptz '2000-01-01'), 0, 5);
select metrics_counters_fold() \gset
select is((select count(*) from private.attempt_minute_rollups where bucket < now() - private.attempt_minutes_kept()),
  0::bigint, 'the fold deletes minute rows older than those kept');
select is((queue_stats() ->> 'attempts_last_hour')::bigint,
  (select count(*) from job_results where reported_at >= now() - interval '1 hour'),
  'after the move and the fold the last hour still equals the raw rows');
select metrics_counters_recount();
select is((queue_stats() ->> 'attempts_last_hour')::bigint,
  (select count(*) from job_results where reported_at >= now() - interval '1 hour'),
  'a recount rebuilds the minute rows to the same counts');

-- The staff success table starts at the whole hour: one attempt just inside the hour an
-- hour ago, one just before it.
insert into job_results (job_id, directory_id, attempt, outcome, confirmed, error_code, reported_at, lease_token)
values (:'job_id', 'dir-h', 1, 'success', true, null,
        date_bin('1 hour', now() - interval '1 hour', timestamptz '2000-01-01') + interval '1 second',
        :'lease_token'::uuid),
       (:'job_id', 'dir-h', 2, 'permanent_error', false, 'site_down',
        date_bin('1 hour', now() - interval '1 hour', timestamptz '2000-01-01') - interval '1 second',
        :'lease_token'::uuid);
select set_config('request.jwt.claims', '{"role":"authenticated","sub":"00000000-0000-0000-0000-0000000000aa","email":"ann@directorybolt.test","app_metadata":{"role":"staff"}}', true) \gset
set local role authenticated;
select results_eq(
  $$ select attempts::int, successes::int, baseline_attempts::int, baseline_finished::int
       from staff_directory_success(3600) where directory_id = 'dir-h' $$,
  $$ values (1, 1, 1, 1) $$,
  'the window starts at the whole hour: the attempt before it is the baseline''s');
reset role;

set local role service_role;
select throws_ok('select count(*) from private.attempt_minute_rollups', '42501', NULL,
  'the service role cannot read the minute rows directly');
reset role;

select * from finish();
rollback;
