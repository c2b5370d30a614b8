-- job_reports.details (migration 20261129002000): written with the summary on every
-- completion — listing URLs and the key events, naming who acted only as customer / worker /
-- staff / system — frozen afterwards, readable by the job's customer and nobody else.
begin;
set search_path = public, extensions;
select plan(23);

select directories_sync($$[
  {"id": "dir-a", "name": "Alpha Pages", "homepage": "http://127.0.0.1:9/a", "tier": "starter", "priority": 1, "mode": "auto", "enabled": true},
  {"id": "dir-b", "name": "Beta Local", "homepage": "http://127.0.0.1:9/b", "tier": "starter", "priority": 2, "mode": "auto", "enabled": true},
  {"id": "dir-c", "name": "Gamma Maps", "homepage": "http://127.0.0.1:9/c", "tier": "starter", "priority": 3, "mode": "auto", "enabled": true}
]$$::jsonb) \gset

select dev.create_paid_order('alice@example.com', 'starter') as order_a \gset
select dev.create_paid_order('bob@example.com', 'starter') as order_b \gset
select user_id as user_a from customers where email = 'alice@example.com' \gset
select user_id as user_b from customers where email = 'bob@example.com' \gset
select id as job from jobs_enqueue(:'order_a') \gset
select jobs_pause(:'job', 'staff:ops@directorybolt.test') \gset
select jobs_resume(:'job', 'staff:ops@directorybolt.test') \gset
select lease_token as token from jobs_next('worker-secret-7', 300) \gset
select jobs_report_attempt(job_id => :'job', lease_token => :'token',
  report => '{"directory_id": "dir-a", "attempt": 1, "outcome": "success", "confirmed": true, "listing_url": "https://a.example/l/1"}') \gset
select jobs_report_attempt(job_id => :'job', lease_token => :'token',
  report => '{"directory_id": "dir-b", "attempt": 1, "outcome": "transient_error", "error_code": "timeout"}') \gset
select jobs_report_attempt(job_id => :'job', lease_token => :'token',
  report => '{"directory_id": "dir-b", "attempt": 2, "outcome": "permanent_error", "error_code": "form_gone"}') \gset
select jobs_report_attempt(job_id => :'job', lease_token => :'token',
  report => '{"directory_id": "dir-c", "attempt": 1, "outcome": "needs_action", "action_required": "Click the link Gamma emailed you"}') \gset

select is((select count(*)::int from job_reports where job_id = :'job'), 0, 'no report before completion');
select jobs_complete(:'job', :'token') \gset

select is(
  (select details -> 'listings' from job_reports where job_id = :'job'),
  jsonb_build_array(jsonb_build_object('directory_id', 'dir-a', 'directory', 'Alpha Pages',
    'status', 'submitted', 'listing_url', 'https://a.example/l/1',
    'submitted_at', (select submitted_at from job_directories where job_id = :'job' and directory_id = 'dir-a'))),
  'listings name every directory with a listing URL, its status and when it was submitted');
select results_eq(
  format($$ select e ->> 'action', e ->> 'by', e ->> 'directory_id', e ->> 'to_status', e ->> 'error_code'
              from job_reports r, jsonb_array_elements(r.details -> 'key_events') with ordinality as x(e, n)
             where r.job_id = %L order by n $$, :'job'),
  $$ values ('job.enqueued', 'system', null, 'pending', null),
            ('job.paused', 'staff', null, 'paused', null),
            ('job.resumed', 'staff', null, 'pending', null),
            ('job.claimed', 'worker', null, 'in_progress', null),
            ('directory.attempt_reported', 'worker', 'dir-b', 'failed', 'form_gone'),
            ('directory.attempt_reported', 'worker', 'dir-c', 'needs_action', null),
            ('job.completed', 'worker', null, 'complete', null) $$,
  'key events: the job''s transitions and what the customer should know per directory, oldest first, the completion last');
select is(
  (select e ->> 'directory' from job_reports r, jsonb_array_elements(r.details -> 'key_events') e
    where r.job_id = :'job' and e ->> 'directory_id' = 'dir-c'),
  'Gamma Maps', 'a directory''s event carries the directory''s name');
select ok(
  (select details::text not like '%worker-secret-7%' and details::text not like '%ops@directorybolt%'
     from job_reports where job_id = :'job'),
  'neither the worker''s id nor the staff member''s name is in the details');
select results_eq(
  format($$ select details ->> 'created_at' is not null, details ->> 'started_at' is not null,
                   (details ->> 'completed_at')::timestamptz = (select completed_at from jobs where id = %L),
                   (details ->> 'seconds_working')::bigint >= 0
              from job_reports where job_id = %L $$, :'job', :'job'),
  $$ values (true, true, true, true) $$,
  'details carry the job''s clock and the seconds worked');
select ok((select not (summary ? 'listings' or summary ? 'key_events') from job_reports where job_id = :'job'),
  'the summary keeps its shape: the details live beside it');
select is((select (summary ->> 'failures')::int from job_reports where job_id = :'job'), 1,
  'the summary is still written by jobs_complete');

-- Frozen: a later change to a directory does not rewrite the report.
select jobs_confirm_live(:'job', 'dir-a', 'https://a.example/live/1', 'staff:ops@directorybolt.test') \gset
select is(
  (select details -> 'listings' -> 0 ->> 'listing_url' from job_reports where job_id = :'job'),
  'https://a.example/l/1', 'the details stay as they were at completion');

-- A staff retry and a new completion replace the details with the new story.
select jobs_retry(:'job', array['dir-b'], 'staff:ops@directorybolt.test') \gset
select lease_token as token2 from jobs_next('worker-secret-8', 300) \gset
select jobs_report_attempt(job_id => :'job', lease_token => :'token2',
  report => '{"directory_id": "dir-b", "attempt": 3, "outcome": "success", "confirmed": true, "listing_url": "https://b.example/l/2"}') \gset
select jobs_complete(:'job', :'token2') \gset
select results_eq(
  format($$ select e ->> 'directory_id', e ->> 'status', e ->> 'listing_url'
              from job_reports r, jsonb_array_elements(r.details -> 'listings') with ordinality as x(e, n)
             where r.job_id = %L order by n $$, :'job'),
  $$ values ('dir-a', 'live', 'https://a.example/live/1'), ('dir-b', 'submitted', 'https://b.example/l/2') $$,
  'after a new completion the listings are current, in directory order');
select results_eq(
  format($$ select e ->> 'action', e ->> 'directory_id'
              from job_reports r, jsonb_array_elements(r.details -> 'key_events') with ordinality as x(e, n)
             where r.job_id = %L and n > 6 order by n $$, :'job'),
  $$ values ('job.completed', null), ('directory.live', 'dir-a'), ('directory.retried', 'dir-b'),
            ('job.retried', null), ('job.claimed', null), ('job.completed', null) $$,
  'the first completion, the confirmation, the retry and the second completion follow the earlier events');
select is(
  (select count(*)::int from job_reports r, jsonb_array_elements(r.details -> 'key_events') e
    where r.job_id = :'job' and e ->> 'action' = 'job.completed'),
  2, 'each completion appears once');
select is(private.job_report_details(:'job', completion_audited => true),
  (select details from job_reports where job_id = :'job'),
  'built later from the audit log (as the migration backfills old reports), the details are the same');
select ok((select details::text not like '%worker-secret-8%' from job_reports where job_id = :'job'),
  'the new worker''s id is not in the details either');

-- Who may read them ---------------------------------------------------------------------------
select dev.impersonate(:'user_a') \gset
select is(
  (select jsonb_array_length(details -> 'listings') from job_reports where job_id = :'job'), 2,
  'the job''s customer reads the details of their report');
select throws_ok(format($$ update job_reports set details = '{}' where job_id = %L $$, :'job'),
  '42501', NULL, 'the customer cannot change them');
select throws_ok(format($$ select private.job_report_details(%L) $$, :'job'), '42501', NULL,
  'the customer cannot call the details builder (it would read the staff-only audit log)');
reset role;

select dev.impersonate(:'user_b') \gset
select is((select count(*)::int from job_reports), 0, 'another customer sees no report at all');
select is((select count(*)::int from job_reports where job_id = :'job'), 0,
  'not even when asking for that job by id');
reset role;

select dev.impersonate(gen_random_uuid(), 'staff') \gset
set local role dbolt_staff;
select is((select count(*)::int from job_reports where job_id = :'job'), 1, 'staff read every report (as the dashboard, dbolt_staff)');
reset role;

set local role anon;
select set_config('request.jwt.claims', '{"role":"anon"}', true) \gset
select throws_ok('select details from job_reports', '42501', NULL, 'anon cannot read reports');
reset role;

select throws_ok(format($$ select private.job_report_details(%L) $$, gen_random_uuid()), 'DB003', NULL,
  'the builder refuses a job that does not exist');
select throws_ok(format($$ update job_reports set details = '[]' where job_id = %L $$, :'job'), '23514', NULL,
  'details must be a JSON object');

select * from finish();
rollback;
