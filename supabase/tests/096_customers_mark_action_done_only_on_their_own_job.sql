-- "I've done it" (customers_mark_action_done, 20261205000300): a signed-in customer moves a
-- needs_action directory of their OWN job to needs_review with the note "customer says done",
-- audited with the customer as actor. Another customer, a staff JWT, anon and a directory not
-- needing action are refused; the reminder emails stop once nothing needs the customer.
begin;
set search_path = public, extensions;
select plan(22);

select directories_sync($$[
  {"id": "dir-a", "name": "A", "homepage": "http://127.0.0.1:9/a", "tier": "starter", "priority": 1, "mode": "auto", "enabled": true},
  {"id": "dir-b", "name": "B", "homepage": "http://127.0.0.1:9/b", "tier": "starter", "priority": 2, "mode": "auto", "enabled": true},
  {"id": "dir-c", "name": "C", "homepage": "http://127.0.0.1:9/c", "tier": "starter", "priority": 3, "mode": "auto", "enabled": true}
]$$::jsonb) \gset

-- Alice's job: a and b need her action, c is submitted. Bob's job: a needs his action, then
-- staff cancel it.
select id as job from jobs_enqueue(dev.create_paid_order('alice@example.com', 'starter')) \gset
select user_id as alice from customers where email = 'alice@example.com' \gset
select lease_token as token from jobs_next('worker-1', 300) \gset
select count(*) from (
  select jobs_report_attempt(job_id => :'job', lease_token => :'token', report => r)
    from unnest(array[
      '{"directory_id": "dir-a", "attempt": 1, "outcome": "needs_action", "action_required": "Click the link in the email from A"}',
      '{"directory_id": "dir-b", "attempt": 1, "outcome": "needs_action", "action_required": "Verify your phone on B"}',
      '{"directory_id": "dir-c", "attempt": 1, "outcome": "success", "confirmed": true}'
    ]::jsonb[]) r
) reports \gset
select jobs_complete(:'job', :'token') \gset
select id as bob_job from jobs_enqueue(dev.create_paid_order('bob@example.com', 'starter')) \gset
select user_id as bob from customers where email = 'bob@example.com' \gset
select lease_token as bob_token from jobs_next('worker-2', 300) \gset
select jobs_report_attempt(job_id => :'bob_job', lease_token => :'bob_token',
  report => '{"directory_id": "dir-a", "attempt": 1, "outcome": "needs_action", "action_required": "Confirm"}') \gset
select jobs_cancel(:'bob_job', 'staff:ann') \gset

-- Grants ------------------------------------------------------------------------------------
select ok(has_function_privilege('authenticated', 'public.customers_mark_action_done(uuid, text)', 'execute'),
  'a signed-in customer may call it (it checks the job is theirs)');
select ok(not has_function_privilege('anon', 'public.customers_mark_action_done(uuid, text)', 'execute'),
  'anon may not');
set local role anon;
select throws_ok(format($$ select customers_mark_action_done(%L, 'dir-a') $$, :'job'), '42501', NULL,
  'anon calling it is refused (permission denied)');
reset role;

-- Another customer, and staff, cannot close Alice's item ------------------------------------
select dev.impersonate(:'bob');
select throws_ok(format($$ select customers_mark_action_done(%L, 'dir-a') $$, :'job'), 'DB003',
  format('directory dir-a of job %s not found', :'job'),
  'Bob calling it on Alice''s job is "not found" (DB003), as if the job did not exist');
reset role;
select dev.impersonate(gen_random_uuid(), 'staff');
select throws_ok(format($$ select customers_mark_action_done(%L, 'dir-a') $$, :'job'), 'DB003', NULL,
  'a staff JWT (no customer) cannot either: staff settle items through the orchestrator');
reset role;
select is((select status::text from job_directories where job_id = :'job' and directory_id = 'dir-a'), 'needs_action',
  'Alice''s item still needs her action');
select is((select count(*)::int from audit_log where action = 'directory.customer_done'), 0, 'and nothing was audited');

-- Alice -------------------------------------------------------------------------------------
select dev.impersonate(:'alice');
select throws_ok(format($$ select customers_mark_action_done(%L, 'dir-c') $$, :'job'), 'DB002',
  format('directory dir-c of job %s is submitted; only a directory needing your action can be marked done', :'job'),
  'a submitted directory is refused with DB002 naming it');
select throws_ok(format($$ select customers_mark_action_done(%L, 'dir-zz') $$, :'job'), 'DB003', NULL,
  'a directory not in the job is DB003');
select is((customers_mark_action_done(:'job', 'dir-a')).status::text, 'needs_review',
  'Alice''s "I''ve done it" moves her item to needs_review for staff to check');
select throws_ok(format($$ select customers_mark_action_done(%L, 'dir-a') $$, :'job'), 'DB002',
  format('directory dir-a of job %s is needs_review; only a directory needing your action can be marked done', :'job'),
  'pressing it twice is refused with DB002');
reset role;
select dev.impersonate(:'bob');
select throws_ok(format($$ select customers_mark_action_done(%L, 'dir-a') $$, :'bob_job'), 'DB002', NULL,
  'on a cancelled job nothing more is needed: refused with DB002');
reset role;

select results_eq(
  format($$ select status::text, last_message, action_required from job_directories where job_id = %L and directory_id = 'dir-a' $$, :'job'),
  $$ values ('needs_review', 'customer says done', 'Click the link in the email from A') $$,
  'stored as needs_review with the note "customer says done"');
select results_eq(
  format($$ select actor, from_status, to_status, details ->> 'note' from audit_log
             where action = 'directory.customer_done' and job_id = %L $$, :'job'),
  format($$ values ('user:%s', 'needs_action', 'needs_review', 'customer says done') $$, :'alice'),
  'audited once with the customer as actor');
select is((select status::text from jobs where id = :'job'), 'complete', 'the job stays complete');
select is((select count(*)::int from realtime.messages where event = 'progress'
             and payload ->> 'directory_id' = 'dir-a' and payload ->> 'status' = 'needs_review'
             and topic = 'staff'), 1,
  'the customer''s page hears of it (progress on staff, which the portal fans out)');

-- Reminders -----------------------------------------------------------------------------------
-- The first needs-action email went out three days ago.
update notifications set sent_at = now() - interval '3 days', attempts = 1
 where job_id = :'job' and kind = 'needs_action';
select is(notifications_enqueue_reminders(remind_after_seconds => 86400, max_reminders => 3), 1,
  'while dir-b still needs Alice, one reminder is queued');
select is((select jsonb_agg(d.directory_id order by d.position) from job_directories d
            where d.job_id = :'job' and d.status = 'needs_action'), '["dir-b"]'::jsonb,
  'and what it lists (the directories still needing action) no longer includes dir-a');
update notifications set sent_at = now() - interval '2 days', attempts = 1
 where job_id = :'job' and kind = 'needs_action_reminder';

select dev.impersonate(:'alice');
select is((customers_mark_action_done(:'job', 'dir-b')).status::text, 'needs_review', 'Alice closes dir-b too');
reset role;
select is(notifications_enqueue_reminders(remind_after_seconds => 86400, max_reminders => 3), 0,
  'with nothing needing her any more, no further reminder is queued');
select is((select count(*)::int from notifications where job_id = :'job' and kind = 'needs_action_reminder'), 1,
  'only the reminder from before she was done exists');
-- Staff can then settle the items she closed: the review queue's transitions take them.
select is((jobs_mark_submitted(:'job', 'dir-b', 'staff:ann')).status::text, 'submitted',
  'staff confirm her item as submitted');

select * from finish();
rollback;
