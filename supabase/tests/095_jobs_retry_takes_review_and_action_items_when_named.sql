-- jobs_retry extended (20261205000300): staff may queue again a directory needing review or
-- action when they name it (the job goes back to pending if it was complete); a retry without
-- names still takes only the failed ones, so a needs_review directory (perhaps submitted) is
-- never retried blindly. Each retried directory is audited with the state it came from.
begin;
set search_path = public, extensions;
select plan(12);

select directories_sync($$[
  {"id": "dir-a", "name": "A", "homepage": "http://127.0.0.1:9/a", "tier": "starter", "priority": 1, "mode": "auto", "enabled": true},
  {"id": "dir-b", "name": "B", "homepage": "http://127.0.0.1:9/b", "tier": "starter", "priority": 2, "mode": "auto", "enabled": true},
  {"id": "dir-c", "name": "C", "homepage": "http://127.0.0.1:9/c", "tier": "starter", "priority": 3, "mode": "auto", "enabled": true},
  {"id": "dir-d", "name": "D", "homepage": "http://127.0.0.1:9/d", "tier": "starter", "priority": 4, "mode": "auto", "enabled": true}
]$$::jsonb) \gset

select id as job from jobs_enqueue(dev.create_paid_order('retry-review@example.com', 'starter')) \gset
select lease_token as token from jobs_next('worker-1', 300) \gset
select count(*) from (
  select jobs_report_attempt(job_id => :'job', lease_token => :'token', report => r)
    from unnest(array[
      '{"directory_id": "dir-a", "attempt": 1, "outcome": "success", "confirmed": false}',
      '{"directory_id": "dir-b", "attempt": 1, "outcome": "needs_action", "action_required": "Confirm the email"}',
      '{"directory_id": "dir-c", "attempt": 1, "outcome": "permanent_error", "error_code": "site_down"}',
      '{"directory_id": "dir-d", "attempt": 1, "outcome": "success", "confirmed": true}'
    ]::jsonb[]) r
) reports \gset
select jobs_complete(:'job', :'token') \gset

select throws_like(format($$ select jobs_retry(%L, '{dir-a,dir-d}', 'staff:alice') $$, :'job'),
  format('only failed directories or ones needing review or action can be retried; job %s has: dir-d (submitted)', :'job'),
  'naming a submitted directory is refused with DB002, naming it and the job');
select is((select count(*)::int from job_directories where job_id = :'job' and status = 'queued'), 0,
  'the refused retry queued nothing (not even dir-a named beside it)');

select is(jobs_retry(:'job', null, 'staff:alice'), 1, 'a retry without names takes only the failed directory');
select results_eq(
  format($$ select directory_id, status::text from job_directories where job_id = %L order by position $$, :'job'),
  $$ values ('dir-a', 'needs_review'), ('dir-b', 'needs_action'), ('dir-c', 'queued'), ('dir-d', 'submitted') $$,
  'the items needing review and action are left for staff to decide');

-- Put the job back to complete (dir-c fails again) and retry the review items by name.
select lease_token as token2 from jobs_next('worker-2', 300) \gset
select jobs_report_attempt(job_id => :'job', lease_token => :'token2',
  report => '{"directory_id": "dir-c", "attempt": 2, "outcome": "permanent_error", "error_code": "site_down"}') \gset
select jobs_complete(:'job', :'token2') \gset
select is((select status::text from jobs where id = :'job'), 'complete', 'set-up: the job is complete again');

select is(jobs_retry(:'job', '{dir-a,dir-b}', 'staff:bob'), 2,
  'naming a directory needing review and one needing action queues both');
select results_eq(
  format($$ select directory_id, status::text, attempts, max_attempts from job_directories
             where job_id = %L and directory_id in ('dir-a', 'dir-b') order by position $$, :'job'),
  $$ values ('dir-a', 'queued', 1, 4), ('dir-b', 'queued', 1, 4) $$,
  'queued with three more attempts');
select results_eq(
  format($$ select status::text, completed_at from jobs where id = %L $$, :'job'),
  $$ values ('pending', null::timestamptz) $$, 'the complete job is pending again');
select results_eq(
  format($$ select actor, action, directory_id, from_status, to_status from audit_log
             where job_id = %L and actor = 'staff:bob' order by id $$, :'job'),
  $$ values ('staff:bob', 'directory.retried', 'dir-a', 'needs_review', 'queued'),
            ('staff:bob', 'directory.retried', 'dir-b', 'needs_action', 'queued'),
            ('staff:bob', 'job.retried', null, 'complete', 'pending') $$,
  'each directory is audited from the state it was in, then the job');
select throws_like(format($$ select jobs_retry(%L, '{dir-a}', 'staff:bob') $$, :'job'),
  '%dir-a (queued)', 'a queued directory cannot be retried again');

-- A worker picks them up like any queued directory.
select lease_token as token3 from jobs_next('worker-3', 300) \gset
select is((jobs_report_attempt(job_id => :'job', lease_token => :'token3',
  report => '{"directory_id": "dir-a", "attempt": 2, "outcome": "success", "confirmed": true}')).status::text,
  'submitted', 'the retried directory is submitted on its next attempt');
select ok(not has_function_privilege('authenticated', 'public.jobs_retry(uuid, text[], text)', 'execute'),
  'jobs_retry stays service role only');

select * from finish();
rollback;
