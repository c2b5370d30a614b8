-- The package count is a promise: the pricing page's count never exceeds the enabled
-- catalogue; a directory that cannot take the business is replaced by the next eligible one
-- (never on a cancelled job, never beyond the eligible set, never twice the same directory);
-- what a completed job still falls short is owed back pro rata, once per order, in the
-- completion's own transaction, and the refunder's claim/mark functions record it once.
begin;
set search_path = public, extensions;
select plan(44);

select directories_sync($$[
  {"id": "dir-a", "name": "A", "homepage": "http://127.0.0.1:9/a", "tier": "starter", "priority": 1, "mode": "auto", "enabled": true},
  {"id": "dir-b", "name": "B", "homepage": "http://127.0.0.1:9/b", "tier": "starter", "priority": 2, "mode": "auto", "enabled": true},
  {"id": "dir-c", "name": "C", "homepage": "http://127.0.0.1:9/c", "tier": "starter", "priority": 3, "mode": "auto", "enabled": true},
  {"id": "dir-gb", "name": "GB only", "homepage": "http://127.0.0.1:9/gb", "tier": "starter", "priority": 4, "country": "GB", "mode": "auto", "enabled": true},
  {"id": "dir-d", "name": "D", "homepage": "http://127.0.0.1:9/d", "tier": "starter", "priority": 5, "mode": "auto", "enabled": true},
  {"id": "dir-off", "name": "Off", "homepage": "http://127.0.0.1:9/off", "tier": "starter", "priority": 6, "mode": "auto", "enabled": false},
  {"id": "dir-g", "name": "G", "homepage": "http://127.0.0.1:9/g", "tier": "growth", "priority": 1, "mode": "auto", "enabled": true}
]$$::jsonb) \gset

-- What "cannot take the business" means ----------------------------------------------------
select is(
  (select array_agg(c order by c) from unnest(array['duplicate_listing', 'already_listed', 'form_gone',
     'country_not_accepted', 'phone_not_accepted', 'category_unmatched', 'category_refused',
     'site_down', 'timeout', 'captcha_unsolved', 'rate_limited', 'proxy_error', 'unknown']) c
    where private.directory_cannot_take_business(c)),
  array['already_listed', 'category_refused', 'category_unmatched', 'country_not_accepted',
        'duplicate_listing', 'form_gone', 'phone_not_accepted'],
  'exactly the seven codes mean the directory cannot take the business');
select is(private.directory_cannot_take_business(null), false, 'no code is not such a failure');

-- The pricing page's count -------------------------------------------------------------------
select results_eq($$ select name, directory_limit, directories_today from tiers_on_offer() $$,
  $$ values ('starter', 50, 5), ('growth', 100, 6), ('professional', 300, 6), ('enterprise', 500, 6) $$,
  'each package delivers today what the enabled catalogue holds for it (its tier and cheaper), never more');
update tiers set directory_limit = 2 where name = 'starter';
select is((select directories_today from tiers_on_offer() where name = 'starter'), 2,
  'and never more than the package''s count');
select ok(has_function_privilege('authenticated', 'public.tiers_on_offer()', 'execute')
          and not has_function_privilege('anon', 'public.tiers_on_offer()', 'execute'),
  'a signed-in visitor reads the packages on offer (the page reads them as the service role for anonymous visitors)');
set local role authenticated;
select is((select count(*)::int from tiers_on_offer()), 4, 'a signed-in visitor reads all four packages');
reset role;

-- Replacement --------------------------------------------------------------------------------
select id as job_1, order_id as order_1 from jobs_enqueue(dev.create_paid_order('one@example.com', 'starter')) \gset
update orders set amount_total = 14900, stripe_payment_intent_id = 'pi_short_1' where id = :'order_1';
update jobs set created_at = now() - interval '10 minutes' where id = :'job_1';
select results_eq(format($$ select directory_id, position from job_directories where job_id = %L order by position $$, :'job_1'),
  $$ values ('dir-a', 1), ('dir-b', 2) $$, 'set-up: a starter job (count 2) gets the first two eligible directories');

select id as claimed, lease_token as token from jobs_next('worker-1', 300) \gset
select jobs_report_attempt(:'job_1', :'token',
  '{"directory_id": "dir-a", "attempt": 1, "outcome": "skipped", "message": "country not served"}') \gset
select results_eq(format($$ select directory_id, position, status::text, replaced_by from job_directories where job_id = %L order by position $$, :'job_1'),
  $$ values ('dir-a', 1, 'skipped', 'dir-c'), ('dir-b', 2, 'queued', null), ('dir-c', 3, 'queued', null) $$,
  'a directory the worker skipped is replaced by the next eligible one, queued at the next position');
select results_eq(format($$ select actor, directory_id, details ->> 'replaced_by' from audit_log
                            where job_id = %L and action = 'job_directory.replaced' $$, :'job_1'),
  $$ values ('system', 'dir-a', 'dir-c') $$, 'the replacement is audited, naming both directories');
select results_eq(format($$ select directory_id, to_status, details ->> 'replacing' from audit_log
                            where job_id = %L and action = 'job_directory.added' $$, :'job_1'),
  $$ values ('dir-c', 'queued', 'dir-a') $$, 'and the directory added is audited as queued');

select jobs_report_attempt(:'job_1', :'token',
  '{"directory_id": "dir-b", "attempt": 1, "outcome": "permanent_error", "error_code": "form_gone"}') \gset
select is((select replaced_by from job_directories where job_id = :'job_1' and directory_id = 'dir-b'), 'dir-d',
  'a failure that says the directory cannot take the business is replaced, passing over a directory for another country');
select jobs_report_attempt(:'job_1', :'token',
  '{"directory_id": "dir-c", "attempt": 1, "outcome": "success", "confirmed": true}') \gset
select jobs_report_attempt(:'job_1', :'token',
  '{"directory_id": "dir-d", "attempt": 1, "outcome": "permanent_error", "error_code": "category_refused"}') \gset
select is((select replaced_by from job_directories where job_id = :'job_1' and directory_id = 'dir-d'), null,
  'once the eligible set is used up, nothing replaces it');
select results_eq(format($$ select directory_id, details ->> 'reason' from audit_log
                            where job_id = %L and action = 'job_directory.not_replaced' $$, :'job_1'),
  $$ values ('dir-d', 'no eligible directory left') $$, 'and that is audited');
select results_eq(format($$ select array_agg(directory_id order by position) from job_directories where job_id = %L $$, :'job_1'),
  $$ values (array['dir-a', 'dir-b', 'dir-c', 'dir-d']) $$,
  'the job never holds a directory outside the eligible set (other country, disabled, higher tier), nor one twice');

-- What is not replaced -------------------------------------------------------------------------
select id as job_2, order_id as order_2 from jobs_enqueue(dev.create_paid_order('two@example.com', 'starter')) \gset
select id as claimed_2, lease_token as token_2 from jobs_next('worker-2', 300) \gset
select is(:'claimed_2'::uuid, :'job_2'::uuid, 'set-up: the second job is in progress');
select jobs_report_attempt(:'job_2', :'token_2',
  '{"directory_id": "dir-a", "attempt": 1, "outcome": "transient_error", "error_code": "timeout"}') \gset
select jobs_report_attempt(:'job_2', :'token_2',
  '{"directory_id": "dir-b", "attempt": 1, "outcome": "permanent_error", "error_code": "site_down"}') \gset
select is((select count(*)::int from job_directories where job_id = :'job_2'), 2,
  'a transient error or a failure of the site itself is not replaced');
select jobs_start_directory(:'job_2', :'token_2', 'dir-a') \gset
select jobs_cancel(:'job_2', 'staff:alice') \gset
select results_eq(format($$ select directory_id, status::text, replaced_by from job_directories where job_id = %L order by position $$, :'job_2'),
  $$ values ('dir-a', 'skipped', null), ('dir-b', 'failed', null) $$,
  'a cancel skips the unfinished directories and replaces none of them');
-- A fact that arrives after the cancel (a late report another path may record) adds nothing.
update job_directories set status = 'failed', attempts = attempts + 1, last_error_code = 'duplicate_listing'
 where job_id = :'job_2' and directory_id = 'dir-a';
select is((select count(*)::int from job_directories where job_id = :'job_2'), 2,
  'a directory of a cancelled job is never replaced');
-- A staff move to skipped (no attempt reported) is not the directory refusing the business.
select id as job_3 from jobs_enqueue(dev.create_paid_order('three@example.com', 'starter')) \gset
update job_directories set status = 'skipped' where job_id = :'job_3' and directory_id = 'dir-a';
select is((select count(*)::int from job_directories where job_id = :'job_3'), 2,
  'a skip no attempt reported (staff) is not replaced');
select jobs_cancel(:'job_3', 'staff:alice') \gset

-- Shortfall ---------------------------------------------------------------------------------
select results_eq(format($$ select promised, delivered, in_hand, replaced, working, shortfall, refund_amount from package_promise(%L) $$, :'job_1'),
  $$ values (2, 1, 0, 2, 0, 1, null::int) $$,
  'package_promise: promised 2, delivered 1, replaced 2, 1 short before completion (nothing owed yet)');
select is_empty(format('select 1 from shortfall_refunds where job_id = %L', :'job_1'), 'set-up: nothing owed before completion');
select jobs_complete(:'job_1', :'token') \gset
select results_eq(format($$ select order_id, promised, delivered, in_hand, shortfall, amount, currency, payment_intent, idempotency_key
                            from shortfall_refunds where job_id = %L $$, :'job_1'),
  format($$ values (%L::uuid, 2, 1, 0, 1, 7450, 'usd', 'pi_short_1', 'dbolt-shortfall-refund-%s') $$, :'order_1', :'order_1'),
  'completing the job owes the shortfall pro rata (1 of 2 → half of 149.00), in the same transaction');
select results_eq(format($$ select (details ->> 'shortfall')::int, (details ->> 'amount')::int from audit_log
                            where job_id = %L and action = 'order.shortfall_owed' $$, :'job_1'),
  $$ values (1, 7450) $$, 'the debt is audited');
select results_eq(format($$ select promised, delivered, shortfall, refund_amount, refund_currency, refunded_amount from package_promise(%L) $$, :'job_1'),
  $$ values (2, 1, 1, 7450, 'usd', null::int) $$, 'package_promise reads the refund owed');

-- A staff retry that completes the job again owes nothing more.
select jobs_retry(:'job_1', array['dir-b'], 'staff:alice') \gset
select id as claimed_again, lease_token as token_again from jobs_next('worker-1', 300) \gset
select jobs_report_attempt(:'job_1', :'token_again',
  '{"directory_id": "dir-b", "attempt": 2, "outcome": "permanent_error", "error_code": "form_gone"}') \gset
select is((select count(*)::int from job_directories where job_id = :'job_1'), 4,
  'a directory already replaced is not replaced a second time');
select jobs_complete(:'job_1', :'token_again') \gset
select is((select count(*)::int from shortfall_refunds where job_id = :'job_1'), 1,
  'the shortfall is owed once per order, however often the job completes');

-- A job that delivers its count owes nothing; a cancelled one owes nothing automatically.
select id as job_4, order_id as order_4 from jobs_enqueue(dev.create_paid_order('four@example.com', 'starter')) \gset
select id as claimed_4, lease_token as token_4 from jobs_next('worker-4', 300) \gset
select is(:'claimed_4'::uuid, :'job_4'::uuid, 'set-up: the fourth job is in progress');
select jobs_report_attempt(:'job_4', :'token_4', '{"directory_id": "dir-a", "attempt": 1, "outcome": "success", "confirmed": true}') \gset
select jobs_report_attempt(:'job_4', :'token_4', '{"directory_id": "dir-b", "attempt": 1, "outcome": "success", "confirmed": true}') \gset
select jobs_complete(:'job_4', :'token_4') \gset
select is_empty(format('select 1 from shortfall_refunds where job_id = %L', :'job_4'), 'a job that delivered its count owes nothing');
select is_empty(format('select 1 from shortfall_refunds where job_id in (%L, %L)', :'job_2', :'job_3'),
  'a cancelled job owes nothing automatically (staff decide its refund)');

-- The refunder's claim and marks ------------------------------------------------------------
create temp table claimed on commit drop as select * from shortfall_refunds_claim(10, 60);
select results_eq('select job_id, attempts from claimed', format('values (%L::uuid, 1)', :'job_1'),
  'the refunder claims the refund owed, counting the attempt');
select is_empty('select * from shortfall_refunds_claim(10, 60)', 'a claimed refund is not claimed twice');
select throws_ok(format($$ select shortfall_refunds_mark_failed(id, gen_random_uuid(), 'boom') from claimed $$),
  'DB001', NULL, 'a failure marked without the claim is refused with DB001');
select throws_ok($$ select shortfall_refunds_mark_refunded(id, claim_token, 'ch_wrong', 7450) from claimed $$,
  'DB005', NULL, 'a refund id that is not a Stripe refund is refused, naming the field');
select results_eq($$ select (shortfall_refunds_mark_failed(id, claim_token, 'stripe: api_connection_error', 0, 8)).last_error from claimed $$,
  $$ values ('stripe: api_connection_error') $$, 'a failed call is kept with its error');
create temp table claimed_again on commit drop as select * from shortfall_refunds_claim(10, 60);
select is((select attempts from claimed_again), 2, 'and claimed again for a retry');
select results_eq($$ select stripe_refund_id, refunded_amount, refunded_at is not null, claim_token from shortfall_refunds_mark_refunded(
                       (select id from claimed_again), (select claim_token from claimed_again), 're_1', 7450) $$,
  $$ values ('re_1', 7450, true, null::uuid) $$, 'the Stripe refund is recorded on the order''s shortfall');
select results_eq($$ select stripe_refund_id from shortfall_refunds_mark_refunded((select id from claimed_again), null, 're_1', 7450) $$,
  $$ values ('re_1') $$, 'the same refund reported again is acknowledged');
select throws_ok($$ select shortfall_refunds_mark_refunded((select id from claimed_again), null, 're_2', 7450) $$,
  'DB002', NULL, 'a second, different refund for the same shortfall is refused with DB002');
select is_empty('select * from shortfall_refunds_claim(10, 60)', 'a refunded shortfall is never claimed again');
select results_eq(format($$ select refunded_amount from package_promise(%L) $$, :'job_1'), $$ values (7450) $$,
  'package_promise reads the amount refunded');
select is((select count(*)::int from audit_log where action = 'order.shortfall_refunded' and job_id = :'job_1'), 1,
  'the refund is audited once');

-- Who may call and read ----------------------------------------------------------------------
select ok(not has_function_privilege('authenticated', 'public.shortfall_refunds_claim(int, int)', 'execute')
          and not has_function_privilege('anon', 'public.shortfall_refunds_claim(int, int)', 'execute')
          and not has_function_privilege('authenticated', 'public.shortfall_refunds_mark_refunded(bigint, uuid, text, int)', 'execute')
          and not has_function_privilege('authenticated', 'public.shortfall_refunds_mark_failed(bigint, uuid, text, int, int)', 'execute'),
  'only the service role drains the refunds');
select ok(not has_column_privilege('authenticated', 'public.shortfall_refunds', 'idempotency_key', 'select')
          and not has_column_privilege('authenticated', 'public.shortfall_refunds', 'payment_intent', 'select')
          and has_column_privilege('authenticated', 'public.shortfall_refunds', 'amount', 'select'),
  'a customer reads the amount, not the payment intent or idempotency key');
set local role authenticated;
select set_config('request.jwt.claims', '{"role":"authenticated","sub":"00000000-0000-0000-0000-00000000000a"}', true) \gset
select is_empty('select 1 from shortfall_refunds', 'a stranger reads no one''s shortfall');
reset role;

select * from finish();
rollback;
