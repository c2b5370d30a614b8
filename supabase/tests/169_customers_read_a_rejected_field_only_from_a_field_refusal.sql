-- job_directories.last_rejected_field (customer-readable) names the business field of a
-- field refusal, and takes nothing from any other (staff-only) message.
begin;
set search_path = public, extensions;
select plan(4);

select directories_sync($$[
  {"id": "dir-a", "name": "A", "homepage": "http://127.0.0.1:9/a", "tier": "starter", "priority": 1, "mode": "auto", "enabled": true},
  {"id": "dir-b", "name": "B", "homepage": "http://127.0.0.1:9/b", "tier": "starter", "priority": 2, "mode": "auto", "enabled": true},
  {"id": "dir-c", "name": "C", "homepage": "http://127.0.0.1:9/c", "tier": "starter", "priority": 3, "mode": "auto", "enabled": true}
]$$::jsonb) \gset
select id as job from jobs_enqueue(dev.create_paid_order('field@example.com', 'starter')) \gset
select lease_token as token from jobs_next('worker-1', 300) \gset
select jobs_report_attempt(:'job', :'token', '{"directory_id": "dir-a", "attempt": 1, "outcome": "permanent_error",
  "error_code": "field_rejected", "message": "postal_code: the site says ZIP must be 5 digits"}') \gset
select jobs_report_attempt(:'job', :'token', '{"directory_id": "dir-b", "attempt": 1, "outcome": "permanent_error",
  "error_code": "site_down", "message": "internal: upstream 500 at /submit"}') \gset
select jobs_report_attempt(:'job', :'token', '{"directory_id": "dir-c", "attempt": 1, "outcome": "success"}') \gset
select jobs_mark_failed(:'job', 'dir-c', 'secretnote: the owner phoned us', 'staff:sam') \gset

select results_eq(
  format($$ select directory_id, last_rejected_field from job_directories where job_id = %L order by position $$, :'job'),
  $$ values ('dir-a', 'postal_code'), ('dir-b', null), ('dir-c', null) $$,
  'only the field refusal names a field; a driver error and staff''s reason lend it nothing');
select ok(has_column_privilege('authenticated', 'public.job_directories', 'last_rejected_field', 'select'),
  'customers read the field');
select ok(not has_column_privilege('authenticated', 'public.job_directories', 'last_message', 'select'),
  'not the message');
select ok(not has_column_privilege('anon', 'public.job_directories', 'last_rejected_field', 'select'),
  'anon reads nothing of it');

select * from finish();
rollback;
