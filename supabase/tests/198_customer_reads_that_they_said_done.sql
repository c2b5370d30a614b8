-- After "I've done it" the customer's own rows say so (job_directories.customer_done_at,
-- 20261205000610) without the staff-only note in last_message; the fact ends when anything
-- moves the directory on. The audit names the customer as 'user:<uid>', which the report's
-- timeline reads as the customer.
begin;
set search_path = public, extensions;
select plan(9);

select directories_sync($$[
  {"id": "dir-a", "name": "A", "homepage": "http://127.0.0.1:9/a", "tier": "starter", "priority": 1, "mode": "auto", "enabled": true},
  {"id": "dir-b", "name": "B", "homepage": "http://127.0.0.1:9/b", "tier": "starter", "priority": 2, "mode": "auto", "enabled": true}
]$$::jsonb) \gset

select id as job from jobs_enqueue(dev.create_paid_order('alice@example.com', 'starter')) \gset
select user_id as alice from customers where email = 'alice@example.com' \gset
select lease_token as token from jobs_next('worker-1', 300) \gset
select count(*) from (
  select jobs_report_attempt(job_id => :'job', lease_token => :'token', report => r)
    from unnest(array[
      '{"directory_id": "dir-a", "attempt": 1, "outcome": "needs_action", "action_required": "Open the email"}',
      '{"directory_id": "dir-b", "attempt": 1, "outcome": "success", "confirmed": false, "message": "customer says done"}'
    ]::jsonb[]) r
) reports \gset
select jobs_complete(:'job', :'token') \gset

select ok(has_column_privilege('authenticated', 'public.job_directories', 'customer_done_at', 'select'),
  'a signed-in customer may read customer_done_at');
select ok(not has_column_privilege('authenticated', 'public.job_directories', 'last_message', 'select'),
  'and still not the staff-only note');

select dev.impersonate(:'alice');
select results_eq('select directory_id, customer_done_at is not null from job_directories order by position',
  $$ values ('dir-a', false), ('dir-b', false) $$,
  'nothing said before the press (a worker message with the same words is not the customer''s say)');
select is((customers_mark_action_done(:'job', 'dir-a')).customer_done_at is not null, true, 'the press returns it');
select results_eq('select directory_id, customer_done_at is not null from job_directories order by position',
  $$ values ('dir-a', true), ('dir-b', false) $$,
  'the customer reads that they said they did it, on that directory only');
reset role;

select results_eq(
  format($$ select actor from audit_log where action = 'directory.customer_done' and job_id = %L $$, :'job'),
  format($$ values ('user:%s') $$, :'alice'),
  'audited as user:<uid>, as jobs_enqueue is');
select dev.impersonate(:'alice');
select throws_ok(format($$ update job_directories set customer_done_at = now() where job_id = %L $$, :'job'),
  '42501', NULL, 'a customer cannot set it themselves: only the press does');
reset role;

select jobs_mark_failed(:'job', 'dir-a', 'not on the site', 'staff:ann') \gset
select is((select customer_done_at is not null from job_directories where job_id = :'job' and directory_id = 'dir-a'),
  false, 'once staff settle it, it is no longer "waiting on our team because you said so"');
select is((select last_message from job_directories where job_id = :'job' and directory_id = 'dir-a'),
  'not on the site', 'staff keep their reason');

select * from finish();
rollback;
