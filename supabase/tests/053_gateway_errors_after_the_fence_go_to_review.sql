-- After the submit fence, a gateway error (502/504: the proxy or load balancer in front of the
-- site gave up, the site itself may have taken the form) is not retried blindly: the directory
-- is held for review. A 503 (the site refused, site_unavailable) is retried; before the fence
-- a gateway error is retried too (nothing was sent).
begin;
set search_path = public, extensions;
select plan(3);

select directories_sync($$[
  {"id": "dir-a", "name": "A", "homepage": "http://127.0.0.1:9/a", "tier": "starter", "priority": 1, "mode": "auto", "enabled": true},
  {"id": "dir-b", "name": "B", "homepage": "http://127.0.0.1:9/b", "tier": "starter", "priority": 2, "mode": "auto", "enabled": true},
  {"id": "dir-c", "name": "C", "homepage": "http://127.0.0.1:9/c", "tier": "starter", "priority": 3, "mode": "auto", "enabled": true}
]$$::jsonb) \gset
select id as job from jobs_enqueue(dev.create_paid_order('gateway@example.com', 'starter')) \gset
select lease_token as token from jobs_next('worker-1', 300) \gset
select jobs_start_directory(:'job', :'token', 'dir-a') \gset
select jobs_start_directory(:'job', :'token', 'dir-b') \gset
select jobs_start_directory(:'job', :'token', 'dir-c') \gset
select jobs_fence_submit(:'job', :'token', 'dir-a', 1) \gset
select jobs_fence_submit(:'job', :'token', 'dir-b', 1) \gset

select is((jobs_report_attempt(:'job', :'token',
  '{"directory_id": "dir-a", "attempt": 1, "outcome": "transient_error", "error_code": "site_gateway_error"}')).status::text,
  'needs_review', 'a gateway error after the fence: held for review, the listing may exist');
select is((jobs_report_attempt(:'job', :'token',
  '{"directory_id": "dir-b", "attempt": 1, "outcome": "transient_error", "error_code": "site_unavailable"}')).status::text,
  'queued', 'a 503 after the fence: the site refused it, retried');
select is((jobs_report_attempt(:'job', :'token',
  '{"directory_id": "dir-c", "attempt": 1, "outcome": "transient_error", "error_code": "site_gateway_error"}')).status::text,
  'queued', 'a gateway error before any fence: nothing was sent, retried');

select * from finish();
rollback;
