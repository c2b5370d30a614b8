-- Mail queued long ago (a reused dev database, a notifier back from an outage) is skipped
-- with the reason, never sent late; a message being sent (live lease) or already settled is
-- left alone; reminders that fell due long ago are counted, not queued. Service role only.
begin;
set search_path = public, extensions;
select plan(16);

select directories_sync($$[
  {"id": "dir-a", "name": "A", "homepage": "http://127.0.0.1:9/a", "tier": "starter", "priority": 1, "mode": "auto", "enabled": true}
]$$::jsonb) \gset

-- Who may call -----------------------------------------------------------------------------
select ok(not has_function_privilege('authenticated', 'public.notifications_skip_stale(int)', 'execute')
          and not has_function_privilege('anon', 'public.notifications_skip_stale(int)', 'execute'),
  'notifications_skip_stale is not executable by anon or authenticated');
select ok(has_function_privilege('service_role', 'public.notifications_skip_stale(int)', 'execute'),
  'notifications_skip_stale is executable by service_role');
select ok(not has_function_privilege('authenticated', 'public.notifications_enqueue_reminders(int, int, int)', 'execute')
          and not has_function_privilege('anon', 'public.notifications_enqueue_reminders(int, int, int)', 'execute'),
  'the reminders with a cutoff are not executable by anon or authenticated');
select ok(has_function_privilege('service_role', 'public.notifications_enqueue_reminders(int, int, int)', 'execute'),
  'the reminders with a cutoff are executable by service_role');
set local role anon;
select throws_ok('select * from notifications_skip_stale(3600)', '42501', NULL,
  'the anon key calling notifications_skip_stale is refused');
reset role;

-- Skipping stale mail ------------------------------------------------------------------------
-- "Your job has started" (one the cutoff applies to, 20261207000610) for four orders; their
-- payment emails are sent, so only the job_started rows are in play.
select dev.create_paid_order('old@example.com', 'starter') as old_order \gset
select dev.create_paid_order('new@example.com', 'starter') as new_order \gset
select dev.create_paid_order('leased@example.com', 'starter') as leased_order \gset
select dev.create_paid_order('sent@example.com', 'starter') as sent_order \gset
update notifications set sent_at = now() where kind = 'payment_received';
select private.notifications_enqueue('job_started', 'job_started:' || j.id, j.customer_id, j.order_id, j.id)
  from unnest(array[:'old_order', :'new_order', :'leased_order', :'sent_order']::uuid[]) o
  cross join lateral jobs_enqueue(o) j;
-- Out of the queue, so the reminder section below claims its own job.
update jobs set status = 'cancelled' where order_id in (:'old_order', :'new_order', :'leased_order', :'sent_order');
update notifications set created_at = now() - interval '2 days'
 where kind = 'job_started' and order_id in (:'old_order', :'leased_order', :'sent_order');
update notifications set claim_token = gen_random_uuid(), claimed_until = now() + interval '1 minute'
 where order_id = :'leased_order' and kind = 'job_started';
update notifications set sent_at = now() - interval '2 days' where order_id = :'sent_order' and kind = 'job_started';

select throws_ok('select * from notifications_skip_stale(0)', 'DB005', 'stale_after_seconds must be positive',
  'a cutoff of 0 is refused with DB005');
select results_eq(
  'select kind, order_id from notifications_skip_stale(3600)',
  format($$ values ('job_started', %L::uuid) $$, :'old_order'),
  'only the unsent, unleased message queued before the cutoff is skipped, and returned');
select matches((select skipped_reason from notifications where order_id = :'old_order' and kind = 'job_started'),
  '^stale: queued 2 days( [0-9:]+)? ago, longer than the notifier''s cutoff \(01:00:00\); not sent$',
  'its reason says how old it was and the cutoff');
select is((select sent_at from notifications where order_id = :'old_order' and kind = 'job_started'), null, 'it is not marked sent');
select is_empty(format($$ select 1 from notifications_claim(100, 60) where order_id = %L and kind = 'job_started' $$, :'old_order'),
  'a skipped stale message is never claimed');
select ok((select skipped_reason is null and sent_at is null from notifications where order_id = :'new_order' and kind = 'job_started'),
  'a fresh message is left to be sent');
select ok((select skipped_reason is null and claimed_until > now() from notifications where order_id = :'leased_order' and kind = 'job_started'),
  'a stale message another notifier is sending right now is left to it');
select is((select skipped_reason from notifications where order_id = :'sent_order' and kind = 'job_started'), null,
  'a message already sent stays sent');

-- Reminders that fell due long ago -----------------------------------------------------------
select id as job_1 from jobs_enqueue(dev.create_paid_order('chase@example.com', 'starter')) \gset
select id as claimed, lease_token as token from jobs_next('worker-1', 300) \gset
select jobs_report_attempt(job_id => :'job_1', lease_token => :'token',
  report => '{"directory_id": "dir-a", "attempt": 1, "outcome": "needs_action", "action_required": "Click the link"}') \gset
update notifications set sent_at = now() - interval '10 days' where job_id = :'job_1';
select results_eq('select queued, stale from notifications_enqueue_reminders(remind_after_seconds => 172800, max_reminders => 3, stale_after_seconds => 3600)',
  'values (0, 1)', 'a reminder due 8 days ago is counted as stale, not queued');
-- (Since 20261207000610 that stale reminder is recorded as skipped; 296 tests it. Gone here.)
delete from notifications where job_id = :'job_1' and kind = 'needs_action_reminder';
update notifications set sent_at = now() - interval '2 days 30 minutes' where job_id = :'job_1';
select results_eq('select queued, stale from notifications_enqueue_reminders(remind_after_seconds => 172800, max_reminders => 3, stale_after_seconds => 3600)',
  'values (1, 0)', 'one due 30 minutes ago (inside the cutoff) is queued');
update notifications set sent_at = now() - interval '10 days' where job_id = :'job_1';
select is(notifications_enqueue_reminders(172800, 3), 1,
  'without a cutoff (the two-argument version) an old due reminder is queued as before');

select * from finish();
rollback;
