-- A pause or cancel from staff carries a reason the customer sees (issue 13): it is kept on
-- the job and in the audit row, must be readable and short, and the customer may read it
-- (column grant); the system's own callers may still pause or cancel without one.
begin;
set search_path = public, extensions;
select plan(11);

select directories_sync($$[
  {"id": "dir-a", "name": "A", "homepage": "http://127.0.0.1:9/a", "tier": "starter", "priority": 1, "mode": "auto", "enabled": true}
]$$::jsonb) \gset
select id as job from jobs_enqueue(dev.create_paid_order('reason@example.com', 'starter')) \gset
select id as job2 from jobs_enqueue(dev.create_paid_order('reason2@example.com', 'starter')) \gset

select throws_ok(format('select jobs_pause(%L, %L, %L)', :'job', 'staff:pat', '   '), 'DB005',
  'reason must not be blank', 'a blank reason is refused, naming the field');
select throws_ok(format('select jobs_pause(%L, %L, %L)', :'job', 'staff:pat', repeat('x', 501)), 'DB005',
  'reason must be at most 500 characters', 'a reason over 500 characters is refused');
select is((select status::text from jobs where id = :'job'), 'pending', 'the refused pauses changed nothing');

select is((jobs_pause(:'job', 'staff:pat', '  We are checking your opening hours with you. ')).staff_reason,
  'We are checking your opening hours with you.', 'the pause keeps the reason (trimmed)');
select results_eq(
  format($$ select to_status, details from audit_log where job_id = %L and action = 'job.paused' $$, :'job'),
  $$ values ('paused', '{"reason": "We are checking your opening hours with you."}'::jsonb) $$,
  'the pause is audited with its reason');
select ok(has_column_privilege('authenticated', 'public.jobs', 'staff_reason', 'select'),
  'a customer may read the reason on their own job (RLS still limits the rows)');
select ok(not has_column_privilege('authenticated', 'public.jobs', 'lease_token', 'select'),
  'but still not the lease');

select is((jobs_cancel(:'job', 'staff:cal', 'The business closed; we refunded you.')).staff_reason,
  'The business closed; we refunded you.', 'the cancel replaces it with its own reason');
select results_eq(
  format($$ select details from audit_log where job_id = %L and action = 'job.cancelled' $$, :'job'),
  $$ values ('{"reason": "The business closed; we refunded you."}'::jsonb) $$,
  'the cancel is audited with its reason');

select is((jobs_cancel(:'job2', 'stripe:evt_1')).status::text, 'cancelled',
  'the system may still cancel without a reason (backward compatible)');
select is((select staff_reason from jobs where id = :'job2'), null, 'and no reason is shown then');

select * from finish();
rollback;
