-- The review queue's staff transitions (20261205000300): jobs_confirm_live (now also from
-- needs_review), jobs_mark_submitted and jobs_mark_failed settle a directory needing review or
-- action; each is guarded by the directory's current state (DB002 naming directory and job),
-- validates its input (DB005 naming the field), writes one audit row with the staff actor,
-- and only the service role (the orchestrator) may call it.
begin;
set search_path = public, extensions;
select plan(38);

select directories_sync($$[
  {"id": "dir-a", "name": "A", "homepage": "http://127.0.0.1:9/a", "tier": "starter", "priority": 1, "mode": "auto", "enabled": true},
  {"id": "dir-b", "name": "B", "homepage": "http://127.0.0.1:9/b", "tier": "starter", "priority": 2, "mode": "auto", "enabled": true},
  {"id": "dir-c", "name": "C", "homepage": "http://127.0.0.1:9/c", "tier": "starter", "priority": 3, "mode": "auto", "enabled": true},
  {"id": "dir-d", "name": "D", "homepage": "http://127.0.0.1:9/d", "tier": "starter", "priority": 4, "mode": "auto", "enabled": true},
  {"id": "dir-e", "name": "E", "homepage": "http://127.0.0.1:9/e", "tier": "starter", "priority": 5, "mode": "auto", "enabled": true},
  {"id": "dir-f", "name": "F", "homepage": "http://127.0.0.1:9/f", "tier": "starter", "priority": 6, "mode": "auto", "enabled": true}
]$$::jsonb) \gset

-- A complete job: a, e need review (no confirmation seen); b, f need the customer; c failed;
-- d submitted.
select id as job from jobs_enqueue(dev.create_paid_order('review@example.com', 'starter')) \gset
select lease_token as token from jobs_next('worker-1', 300) \gset
select count(*) from (
  select jobs_report_attempt(job_id => :'job', lease_token => :'token', report => r)
    from unnest(array[
      '{"directory_id": "dir-a", "attempt": 1, "outcome": "success", "confirmed": false}',
      '{"directory_id": "dir-b", "attempt": 1, "outcome": "needs_action", "action_required": "Click the link in the email"}',
      '{"directory_id": "dir-c", "attempt": 1, "outcome": "permanent_error", "error_code": "site_down"}',
      '{"directory_id": "dir-d", "attempt": 1, "outcome": "success", "confirmed": true}',
      '{"directory_id": "dir-e", "attempt": 1, "outcome": "success", "confirmed": false}',
      '{"directory_id": "dir-f", "attempt": 1, "outcome": "needs_action", "action_required": "Verify your phone"}'
    ]::jsonb[]) r
) reports \gset
select jobs_complete(:'job', :'token') \gset
select results_eq(
  format($$ select directory_id, status::text from job_directories where job_id = %L order by position $$, :'job'),
  $$ values ('dir-a', 'needs_review'), ('dir-b', 'needs_action'), ('dir-c', 'failed'),
            ('dir-d', 'submitted'), ('dir-e', 'needs_review'), ('dir-f', 'needs_action') $$,
  'set-up: a complete job with items needing review and action');

-- Grants: service role only ----------------------------------------------------------------
create temp table review_functions (fn regprocedure primary key) on commit drop;
insert into review_functions values
  ('public.jobs_confirm_live(uuid, text, text, text)'),
  ('public.jobs_mark_submitted(uuid, text, text, text)'),
  ('public.jobs_mark_failed(uuid, text, text, text)');
grant select on review_functions to anon, authenticated;
select ok(bool_and(not has_function_privilege('anon', fn, 'execute')), 'anon may call none of them')
  from review_functions;
select ok(bool_and(not has_function_privilege('authenticated', fn, 'execute')),
  'a signed-in user (customer or staff JWT) may call none of them') from review_functions;
select ok(bool_and(has_function_privilege('service_role', fn, 'execute')),
  'the service role (the orchestrator''s staff API) may call them all') from review_functions;
select dev.impersonate(gen_random_uuid(), 'staff');
select throws_ok(format($$ select jobs_mark_failed(%L, 'dir-b', 'no', 'staff:eve') $$, :'job'),
  '42501', NULL, 'a staff JWT calling jobs_mark_failed directly is refused (permission denied)');
reset role;

-- jobs_confirm_live ------------------------------------------------------------------------
select throws_ok(format($$ select jobs_confirm_live(%L, 'dir-a', %L, 'staff:alice') $$, :'job', u),
  'DB005', 'listing_url must be an http(s) URL', format('listing_url %s is refused with DB005', u))
  from unnest(array['javascript:alert(1)', 'http://', 'https://exa mple.com/x', 'ftp://a.example/x']) u;
select throws_ok(format($$ select jobs_confirm_live(%L, 'dir-zz', 'https://a.example/l', 'staff:alice') $$, :'job'),
  'DB003', NULL, 'a directory not in the job is DB003');
select throws_ok(format($$ select jobs_confirm_live(%L, 'dir-c', 'https://c.example/l', 'staff:alice') $$, :'job'),
  'DB002', NULL, 'a failed directory cannot go live (DB002)');
select throws_like(format($$ select jobs_confirm_live(%L, 'dir-c', 'https://c.example/l', 'staff:alice') $$, :'job'),
  format('directory dir-c of job %s is failed;%%', :'job'), 'the refusal names the directory, the job and its state');

select is((jobs_confirm_live(:'job', 'dir-a', 'https://a.example/listing/1', 'staff:alice')).status::text, 'live',
  'a directory needing review goes live once staff found the listing');
select results_eq(
  format($$ select listing_url, submitted_at is not null from job_directories where job_id = %L and directory_id = 'dir-a' $$, :'job'),
  $$ values ('https://a.example/listing/1', true) $$, 'with its listing URL and a submitted_at');
select results_eq(
  format($$ select actor, from_status, to_status, details from audit_log where action = 'directory.live' and job_id = %L $$, :'job'),
  $$ values ('staff:alice', 'needs_review', 'live', '{"listing_url": "https://a.example/listing/1"}'::jsonb) $$,
  'audited with the staff actor, from needs_review, with the URL');

-- jobs_mark_submitted ------------------------------------------------------------------------
select throws_ok(format($$ select jobs_mark_submitted(%L, 'dir-b', null) $$, :'job'),
  'DB005', 'actor is required', 'marking submitted without an actor is refused');
select throws_ok(format($$ select jobs_mark_submitted(%L, 'dir-b', 'staff:bob', 'not a url') $$, :'job'),
  'DB005', 'listing_url must be an http(s) URL', 'an optional listing_url that is not http(s) is refused');
select throws_ok(format($$ select jobs_mark_submitted(%L, 'dir-d', 'staff:bob') $$, :'job'),
  'DB002', NULL, 'a submitted directory cannot be marked submitted again');
select throws_like(format($$ select jobs_mark_submitted(%L, 'dir-c', 'staff:bob') $$, :'job'),
  format('directory dir-c of job %s is failed; only a directory needing review or action%%', :'job'),
  'a failed one is refused too, naming it');

select is((jobs_mark_submitted(:'job', 'dir-b', 'staff:bob')).status::text, 'submitted',
  'a directory needing the customer''s action can be marked submitted, without a URL');
select is((jobs_mark_submitted(job_id => :'job', directory_id => 'dir-e', actor => 'staff:bob',
  listing_url => 'https://e.example/pending/9')).status::text, 'submitted',
  'a directory needing review can be marked submitted with a URL');
select results_eq(
  format($$ select directory_id, listing_url, submitted_at is not null from job_directories
             where job_id = %L and directory_id in ('dir-b', 'dir-e') order by position $$, :'job'),
  $$ values ('dir-b', null, true), ('dir-e', 'https://e.example/pending/9', true) $$,
  'both are stored submitted with a submitted_at (and the URL when given)');
select results_eq(
  format($$ select actor, directory_id, from_status, to_status, details from audit_log
             where action = 'directory.marked_submitted' and job_id = %L order by id $$, :'job'),
  $$ values ('staff:bob', 'dir-b', 'needs_action', 'submitted', '{}'::jsonb),
            ('staff:bob', 'dir-e', 'needs_review', 'submitted', '{"listing_url": "https://e.example/pending/9"}'::jsonb) $$,
  'each is audited once with the staff actor and the state it came from');
select throws_ok(format($$ select jobs_retry(%L, '{dir-b}', 'staff:bob') $$, :'job'),
  'DB002', NULL, 'a directory marked submitted is never queued again');

-- jobs_mark_failed ---------------------------------------------------------------------------
select throws_ok(format($$ select jobs_mark_failed(%L, 'dir-f', null, 'staff:carol') $$, :'job'),
  'DB005', 'reason is required', 'marking failed without a reason is refused');
select throws_ok(format($$ select jobs_mark_failed(%L, 'dir-f', '   ', 'staff:carol') $$, :'job'),
  'DB005', 'reason is required', 'a blank reason is refused');
select throws_ok(format($$ select jobs_mark_failed(%L, 'dir-f', repeat('x', 2001), 'staff:carol') $$, :'job'),
  'DB005', 'reason must be at most 2000 characters', 'an over-long reason is refused');
select throws_ok(format($$ select jobs_mark_failed(%L, 'dir-f', 'gone', '') $$, :'job'),
  'DB005', 'actor is required', 'a blank actor is refused');
select throws_ok(format($$ select jobs_mark_failed(%L, 'dir-d', 'gone', 'staff:carol') $$, :'job'),
  'DB002', NULL, 'a submitted directory cannot be marked failed');
select throws_ok(format($$ select jobs_mark_failed(%L, 'dir-a', 'gone', 'staff:carol') $$, :'job'),
  'DB002', NULL, 'nor a live one');
select throws_ok($$ select jobs_mark_failed(gen_random_uuid(), 'dir-f', 'gone', 'staff:carol') $$,
  'DB003', NULL, 'an unknown job is DB003');

select is((jobs_mark_failed(:'job', 'dir-f', ' The site refused phone +44 20 7946 0000 (selector #phone) ', 'staff:carol')).status::text,
  'failed', 'a directory needing action can be marked failed');
select results_eq(
  format($$ select last_error_code, last_message from job_directories where job_id = %L and directory_id = 'dir-f' $$, :'job'),
  $$ values ('review_failed', 'The site refused phone +44 20 7946 0000 (selector #phone)') $$,
  'it keeps the reason for staff and a code the customer''s page words plainly');
select results_eq(
  format($$ select actor, from_status, to_status, details ->> 'reason' from audit_log
             where action = 'directory.marked_failed' and job_id = %L $$, :'job'),
  $$ values ('staff:carol', 'needs_action', 'failed', 'The site refused phone +44 20 7946 0000 (selector #phone)') $$,
  'audited with the staff actor and the reason');
select throws_ok(format($$ select jobs_mark_failed(%L, 'dir-f', 'again', 'staff:carol') $$, :'job'),
  'DB002', NULL, 'a failed directory cannot be marked failed twice');

-- Refusals changed nothing; the job itself stayed complete throughout.
select results_eq(
  format($$ select directory_id, status::text from job_directories where job_id = %L order by position $$, :'job'),
  $$ values ('dir-a', 'live'), ('dir-b', 'submitted'), ('dir-c', 'failed'),
            ('dir-d', 'submitted'), ('dir-e', 'submitted'), ('dir-f', 'failed') $$,
  'every directory is where the accepted calls put it');
select is((select status::text from jobs where id = :'job'), 'complete', 'the job stays complete');
select is((select count(*)::int from audit_log where job_id = :'job'
            and action in ('directory.live', 'directory.marked_submitted', 'directory.marked_failed')), 4,
  'one audit row per accepted transition, none for a refusal');

select * from finish();
rollback;
