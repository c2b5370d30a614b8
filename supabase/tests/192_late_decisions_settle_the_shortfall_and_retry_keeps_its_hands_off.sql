-- After a job completes short: a directory that was in hand (needs review or action) and is
-- later settled undelivered owes its share too (a second settlement, its own Idempotency-Key,
-- the total never more than paid pro rata); a replaced directory flagged back to review is not
-- counted in hand; an order without a PaymentIntent leaves a dead row for staff instead of
-- blocking completion. A retry without names leaves replaced directories and ones staff
-- settled as failed alone. A fenced late success on a directory settled as failed is a
-- conflict for staff, not a silent record.
begin;
set search_path = public, extensions;
select plan(15);

select directories_sync($$[
  {"id": "dir-a", "name": "A", "homepage": "http://127.0.0.1:9/a", "tier": "starter", "priority": 1, "mode": "auto", "enabled": true},
  {"id": "dir-b", "name": "B", "homepage": "http://127.0.0.1:9/b", "tier": "starter", "priority": 2, "mode": "auto", "enabled": true},
  {"id": "dir-c", "name": "C", "homepage": "http://127.0.0.1:9/c", "tier": "starter", "priority": 3, "mode": "auto", "enabled": true},
  {"id": "dir-d", "name": "D", "homepage": "http://127.0.0.1:9/d", "tier": "starter", "priority": 4, "mode": "auto", "enabled": true}
]$$::jsonb) \gset
update tiers set directory_limit = 4, max_running = 10 where name = 'starter';

-- A job of 4: a submitted, b needs review, c needs action, d fails for the site being down.
select id as job, order_id as ord from jobs_enqueue(dev.create_paid_order('late@example.com', 'starter')) \gset
update orders set amount_total = 10000, currency = 'usd', stripe_payment_intent_id = 'pi_late_1' where id = :'ord';
select lease_token as token from jobs_next('worker-1', 300) \gset
select jobs_report_attempt(:'job', :'token', '{"directory_id": "dir-a", "attempt": 1, "outcome": "success", "confirmed": true}') \gset
select jobs_report_attempt(:'job', :'token', '{"directory_id": "dir-b", "attempt": 1, "outcome": "success", "confirmed": false}') \gset
select jobs_report_attempt(:'job', :'token', '{"directory_id": "dir-c", "attempt": 1, "outcome": "needs_action", "action_required": "confirm by email"}') \gset
select jobs_report_attempt(:'job', :'token', '{"directory_id": "dir-d", "attempt": 1, "outcome": "permanent_error", "error_code": "site_down"}') \gset
select jobs_complete(:'job', :'token') \gset

select results_eq(format($$ select seq, shortfall, amount, idempotency_key from shortfall_refunds where order_id = %L $$, :'ord'),
  format($$ values (1, 1, 2500, %L) $$, 'dbolt-shortfall-refund-' || :'ord'),
  'at completion: one directory short (d), a quarter of the price owed; b and c are in hand');
select jobs_mark_failed(:'job', 'dir-b', 'no listing on the site', 'staff:sam') \gset
select results_eq(format($$ select seq, shortfall, amount, idempotency_key from shortfall_refunds where order_id = %L order by seq $$, :'ord'),
  format($$ values (1, 1, 2500, %L), (2, 1, 2500, %L) $$,
    'dbolt-shortfall-refund-' || :'ord', 'dbolt-shortfall-refund-' || :'ord' || '-2'),
  'staff settling b as failed owes its share as a second settlement with its own key');
select is((select shortfall from package_promise(:'job')), 2, 'the promise now says two short');
select is((select refund_amount from package_promise(:'job')), 5000, 'and the refund owed is the sum');
select is((select refunded_amount from package_promise(:'job')), null,
  'not refunded while a settlement is still owed');
select jobs_mark_submitted(:'job', 'dir-c', 'staff:sam') \gset
select is((select count(*)::int from shortfall_refunds where order_id = :'ord'), 2,
  'c settled as delivered owes nothing more');
select is((select count(*)::int from audit_log where job_id = :'job' and action = 'order.shortfall_owed'), 2,
  'each settlement is audited');
select lives_ok(format($$ select jobs_retry(%L, array['dir-d'], 'staff:sam') $$, :'job'),
  'staff may still name a failed directory to retry');

-- Retry without names --------------------------------------------------------------------------
select id as job2, order_id as ord2 from jobs_enqueue(dev.create_paid_order('retry@example.com', 'starter')) \gset
select jobs_pause(:'job', 'staff:sam', 'Out of the way of the next test') \gset
select lease_token as token2 from jobs_next('worker-2', 300) \gset
select jobs_report_attempt(:'job2', :'token2', '{"directory_id": "dir-a", "attempt": 1, "outcome": "permanent_error", "error_code": "site_down"}') \gset
select jobs_report_attempt(:'job2', :'token2', '{"directory_id": "dir-b", "attempt": 1, "outcome": "success", "confirmed": false}') \gset
select jobs_mark_failed(:'job2', 'dir-b', 'not there', 'staff:sam') \gset
select is(jobs_retry(:'job2', null, 'staff:sam'), 1, 'a retry without names takes one directory');
select results_eq(format($$ select directory_id, status::text from job_directories where job_id = %L and directory_id in ('dir-a', 'dir-b') order by position $$, :'job2'),
  $$ values ('dir-a', 'queued'), ('dir-b', 'failed') $$,
  'the site-down one, not the one staff settled as failed');

-- A fenced late success on a directory settled as failed --------------------------------------
select jobs_start_directory(:'job2', :'token2', 'dir-c') \gset
select jobs_fence_submit(:'job2', :'token2', 'dir-c', 1) \gset
select jobs_release(:'job2', :'token2') \gset
select is((select status::text from job_directories where job_id = :'job2' and directory_id = 'dir-c'), 'needs_review',
  'set-up: the fenced directory is held when the lease goes');
select jobs_mark_failed(:'job2', 'dir-c', 'not on the site', 'staff:sam') \gset
select is((jobs_report_attempt(:'job2', :'token2',
  '{"directory_id": "dir-c", "attempt": 1, "outcome": "success", "confirmed": true}')).status::text,
  'needs_review', 'its late success contradicts the settlement: back to review');
select is((select count(*)::int from alerts where kind = 'late_report_conflict' and cleared_at is null), 1,
  'with an alert for staff');

-- No PaymentIntent ------------------------------------------------------------------------------
select id as job3, order_id as ord3 from jobs_enqueue(dev.create_paid_order('nopi@example.com', 'starter')) \gset
update orders set amount_total = 10000, stripe_payment_intent_id = null where id = :'ord3';
select jobs_pause(:'job2', 'staff:sam', 'Out of the way of the next test') \gset
select lease_token as token3 from jobs_next('worker-3', 300) \gset
select jobs_report_attempt(:'job3', :'token3', '{"directory_id": "dir-a", "attempt": 1, "outcome": "permanent_error", "error_code": "site_down"}') \gset
select jobs_report_attempt(:'job3', :'token3', '{"directory_id": "dir-b", "attempt": 1, "outcome": "permanent_error", "error_code": "site_down"}') \gset
select jobs_report_attempt(:'job3', :'token3', '{"directory_id": "dir-c", "attempt": 1, "outcome": "permanent_error", "error_code": "site_down"}') \gset
select jobs_report_attempt(:'job3', :'token3', '{"directory_id": "dir-d", "attempt": 1, "outcome": "permanent_error", "error_code": "site_down"}') \gset
select lives_ok(format($$ select jobs_complete(%L, %L) $$, :'job3', :'token3'),
  'an order without a PaymentIntent still completes');
select results_eq(format($$ select amount, dead_at is not null, last_error from shortfall_refunds where order_id = %L $$, :'ord3'),
  $$ values (10000, true, 'the order has no Stripe PaymentIntent: refund it by hand') $$,
  'its refund is left dead for staff, with the reason');

select * from finish();
rollback;
