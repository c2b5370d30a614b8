-- jobs_confirm_live (staff or a verification pass): a submitted listing found live on the
-- directory moves submitted -> live with its URL; nothing else may go live.
begin;
set search_path = public, extensions;
select plan(14);

select directories_sync($$[
  {"id": "dir-a", "name": "A", "homepage": "http://127.0.0.1:9/a", "tier": "starter", "priority": 1, "mode": "auto", "enabled": true},
  {"id": "dir-b", "name": "B", "homepage": "http://127.0.0.1:9/b", "tier": "starter", "priority": 2, "mode": "auto", "enabled": true}
]$$::jsonb) \gset

select dev.create_paid_order('live@example.com', 'starter') as order_id \gset
select id as job from jobs_enqueue(:'order_id') \gset
select lease_token as token from jobs_next('worker-1', 300) \gset
select jobs_report_attempt(job_id => :'job', lease_token => :'token',
  report => '{"directory_id": "dir-a", "attempt": 1, "outcome": "success", "confirmed": true, "listing_url": "https://a.example/pending"}') \gset
select jobs_report_attempt(job_id => :'job', lease_token => :'token',
  report => '{"directory_id": "dir-b", "attempt": 1, "outcome": "success", "confirmed": false}') \gset
select jobs_complete(:'job', :'token') \gset

select throws_ok(format($$ select jobs_confirm_live(%L, 'dir-a', 'https://a.example/l/1', null) $$, :'job'),
  'DB005', 'actor is required', 'confirming without an actor is refused with DB005');
select throws_ok(format($$ select jobs_confirm_live(%L, 'dir-a', 'not a url', 'staff:alice') $$, :'job'),
  'DB005', 'listing_url must be an http(s) URL', 'a listing_url that is not http(s) is refused with DB005');
select throws_ok(format($$ select jobs_confirm_live(%L, 'dir-a', null, 'staff:alice') $$, :'job'),
  'DB005', 'listing_url must be an http(s) URL', 'a missing listing_url is refused with DB005');
select throws_ok(format($$ select jobs_confirm_live(%L, 'dir-zz', 'https://a.example/l/1', 'staff:alice') $$, :'job'),
  'DB003', NULL, 'a directory that is not part of the job is refused with DB003');
-- (A needs_review directory may go live since 20261205000300: see 094.) A failed one may not.
update job_directories set status = 'failed' where job_id = :'job' and directory_id = 'dir-b';
select throws_ok(format($$ select jobs_confirm_live(%L, 'dir-b', 'https://b.example/l/1', 'staff:alice') $$, :'job'),
  'DB002', NULL, 'a failed directory cannot go live (DB002)');
select throws_like(format($$ select jobs_confirm_live(%L, 'dir-b', 'https://b.example/l/1', 'staff:alice') $$, :'job'),
  '%is failed; only a submitted listing or one needing review can go live', 'the message names the current state');

select is((jobs_confirm_live(:'job', 'dir-a', 'https://a.example/l/1', 'staff:alice')).status::text, 'live',
  'a submitted directory goes live');
select results_eq(
  format($$ select status::text, listing_url, submitted_at is not null from job_directories
             where job_id = %L and directory_id = 'dir-a' $$, :'job'),
  $$ values ('live', 'https://a.example/l/1', true) $$,
  'it is stored live with the confirmed listing URL, keeping submitted_at');
select results_eq(
  format($$ select actor, from_status, to_status, details from audit_log
             where action = 'directory.live' and job_id = %L $$, :'job'),
  $$ values ('staff:alice', 'submitted', 'live', '{"listing_url": "https://a.example/l/1"}'::jsonb) $$,
  'going live is audited with the actor and the URL');
select is((select count(*)::int from realtime.messages where event = 'progress'
             and payload ->> 'directory_id' = 'dir-a' and payload ->> 'status' = 'live'), 1,
  'going live is broadcast as progress, once (on staff)');

select throws_ok(format($$ select jobs_confirm_live(%L, 'dir-a', 'https://a.example/l/2', 'staff:alice') $$, :'job'),
  'DB002', NULL, 'a live directory cannot be confirmed again');
select is((select listing_url from job_directories where job_id = :'job' and directory_id = 'dir-a'),
  'https://a.example/l/1', 'the refused second confirmation did not change the URL');

-- Live is past submitted: a retry cannot requeue it and the job is not reopened for it.
select throws_ok(format($$ select jobs_retry(%L, '{dir-a}', 'staff:alice') $$, :'job'),
  'DB002', NULL, 'a live directory cannot be retried');
select is((select status::text from jobs where id = :'job'), 'complete', 'the job stays complete');

select * from finish();
rollback;
