-- The notifier's cutoff skips only mail whose content is time-bound (job started, a
-- reminder): the payment email (it creates the buyer's sign-in), the report and the first
-- needs-action notice are sent however late. Reminders are measured from the last notice
-- sent OR skipped, so a skipped first notice still leads to reminders; a reminder that fell
-- due before the cutoff is recorded as skipped (once), and the chase resumes from then.
begin;
set search_path = public, extensions;
select plan(17);

select directories_sync($$[
  {"id": "dir-a", "name": "A", "homepage": "http://127.0.0.1:9/a", "tier": "starter", "priority": 1, "mode": "auto", "enabled": true}
]$$::jsonb) \gset

-- Who may call: unchanged ----------------------------------------------------------------------
select ok(not has_function_privilege('authenticated', 'public.notifications_skip_stale(int)', 'execute')
          and not has_function_privilege('anon', 'public.notifications_skip_stale(int)', 'execute')
          and has_function_privilege('service_role', 'public.notifications_skip_stale(int)', 'execute'),
  'notifications_skip_stale is still for service_role only');
select ok(not has_function_privilege('authenticated', 'public.notifications_enqueue_reminders(int, int, int)', 'execute')
          and not has_function_privilege('anon', 'public.notifications_enqueue_reminders(int, int, int)', 'execute')
          and has_function_privilege('service_role', 'public.notifications_enqueue_reminders(int, int, int)', 'execute'),
  'the reminders with a cutoff are still for service_role only');
set local role authenticated;
select throws_ok('select * from notifications_enqueue_reminders(172800, 3, 3600)', '42501', NULL,
  'a signed-in user calling the reminders is refused');
reset role;

-- One job with every kind of mail, all queued two days ago and never sent --------------------
select id as job_1 from jobs_enqueue(dev.create_paid_order('late@example.com', 'starter')) \gset
select id as claimed, lease_token as token from jobs_next('worker-1', 300) \gset
select jobs_report_attempt(job_id => :'job_1', lease_token => :'token',
  report => '{"directory_id": "dir-a", "attempt": 1, "outcome": "needs_action", "action_required": "Click the link"}') \gset
select private.notifications_enqueue('job_complete', 'job_complete:' || j.id, j.customer_id, j.order_id, j.id)
  from jobs j where j.id = :'job_1';
select private.notifications_enqueue('needs_action_reminder', 'needs_action_reminder:' || j.id || ':1',
         j.customer_id, j.order_id, j.id, '{"reminder": 1}')
  from jobs j where j.id = :'job_1';
update notifications set created_at = now() - interval '2 days'
 where order_id = (select order_id from jobs where id = :'job_1');
select set_eq(
  format($$ select kind::text from notifications where order_id = (select order_id from jobs where id = %L) $$, :'job_1'),
  $$ values ('payment_received'), ('job_started'), ('job_complete'), ('needs_action'), ('needs_action_reminder') $$,
  'the job has one message of each kind queued');

select results_eq(
  'select kind from notifications_skip_stale(3600) order by kind',
  $$ values ('job_started'), ('needs_action_reminder') $$,
  'only "job started" and the reminder are skipped as stale');
select is((select skipped_reason from notifications n join jobs j on j.order_id = n.order_id
            where j.id = :'job_1' and n.kind = 'payment_received'), null,
  'the payment email (it creates the buyer''s sign-in) is not skipped however late');
select is((select skipped_reason from notifications where job_id = :'job_1' and kind = 'job_complete'), null,
  'the "report is ready" email is not skipped however late');
select is((select skipped_reason from notifications where job_id = :'job_1' and kind = 'needs_action'), null,
  'the first needs-action notice is not skipped however late');
select set_eq(
  format($$ select kind::text from notifications_claim(100, 60) where order_id = (select order_id from jobs where id = %L) $$, :'job_1'),
  $$ values ('payment_received'), ('job_complete'), ('needs_action') $$,
  'the three are claimed to be sent, late');

-- A first notice that was skipped still leads to reminders --------------------------------
delete from notifications where job_id = :'job_1' and kind in ('needs_action_reminder', 'job_complete');
update notifications set claim_token = null, claimed_until = null,
       skipped_reason = 'stale: skipped by 20261207000600', created_at = now() - interval '2 days 30 minutes'
 where job_id = :'job_1' and kind = 'needs_action';
select results_eq('select queued, stale from notifications_enqueue_reminders(172800, 3, 3600)',
  'values (1, 0)', 'a job whose only notice was skipped gets its reminder when it falls due');

-- A reminder that fell due long ago is recorded as skipped, once -------------------------
delete from notifications where job_id = :'job_1' and kind = 'needs_action_reminder';
update notifications set skipped_reason = null, sent_at = now() - interval '10 days',
       created_at = now() - interval '10 days'
 where job_id = :'job_1' and kind = 'needs_action';
select results_eq('select queued, stale from notifications_enqueue_reminders(172800, 3, 3600)',
  'values (0, 1)', 'a reminder due 8 days ago is not queued: it is counted as stale');
select matches((select skipped_reason from notifications
                 where dedupe_key = 'needs_action_reminder:' || :'job_1' || ':1'),
  '^stale: fell due 8 days( [0-9:]+)? ago, longer than the notifier''s cutoff \(01:00:00\); not sent$',
  'it is recorded as reminder 1, skipped, with how late it was and the cutoff');
select is_empty(format($$ select 1 from notifications_claim(100, 60) where job_id = %L $$, :'job_1'),
  'the recorded stale reminder is never sent');
select results_eq('select queued, stale from notifications_enqueue_reminders(172800, 3, 3600)',
  'values (0, 0)', 'the next check neither queues nor counts it again (no repeated log line)');
update notifications set created_at = now() - interval '2 days 30 minutes'
 where dedupe_key = 'needs_action_reminder:' || :'job_1' || ':1';
select results_eq('select queued, stale from notifications_enqueue_reminders(172800, 3, 3600)',
  'values (1, 0)', 'the chase resumes: the next reminder is due two days after the skipped one');
select results_eq(
  format($$ select payload->>'reminder', skipped_reason from notifications
             where job_id = %L and kind = 'needs_action_reminder' and sent_at is null and skipped_reason is null $$, :'job_1'),
  $$ values ('2', null::text) $$,
  'and it is reminder 2, waiting to be sent');
update notifications set sent_at = now() - interval '10 days'
 where job_id = :'job_1' and kind = 'needs_action_reminder' and skipped_reason is null;
select results_eq('select queued, stale from notifications_enqueue_reminders(172800, 2, 3600)',
  'values (0, 0)', 'a skipped reminder counts towards max_reminders');

select * from finish();
rollback;
