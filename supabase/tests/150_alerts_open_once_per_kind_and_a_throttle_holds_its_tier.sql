-- Degradation controls: one open alert per kind (raise is idempotent and says when it is
-- new), clear and acknowledge, and a tier throttle that jobs_next obeys and that is lifted
-- again; all audited, all service_role only.
begin;
set search_path = public, extensions;
select plan(22);

select ok(not has_function_privilege('authenticated', 'public.alerts_raise(text, text, jsonb)', 'execute'),
  'customers cannot raise alerts');
select ok(not has_function_privilege('anon', 'public.tiers_throttle(text, int, text)', 'execute'),
  'anon cannot throttle tiers');
select ok(has_function_privilege('service_role', 'public.tiers_throttle(text, int, text)', 'execute'),
  'service_role can throttle tiers');
select ok(not has_function_privilege('authenticated', 'public.metrics_totals()', 'execute'),
  'metrics totals are not for signed-in users');

-- alerts -------------------------------------------------------------------------------
select is(alerts_raise('captcha_provider_down', 'captchas failing', '{"failures": 6}'), true,
  'a new alert is reported as newly raised');
select is(alerts_raise('captcha_provider_down', 'still failing', '{"failures": 9}'), false,
  'raising it again refreshes the open alert instead of opening a second one');
select results_eq($$ select kind, message, details from alerts where cleared_at is null $$,
  $$ values ('captcha_provider_down', 'still failing', '{"failures": 9}'::jsonb) $$,
  'one open alert, with the latest message and details');
select throws_ok($$ select alerts_raise('Bad Kind', 'x') $$, 'DB005', 'kind must be lower_snake_case',
  'a malformed kind is refused');
select is(alerts_clear('captcha_provider_down'), true, 'clearing an open alert says so');
select is(alerts_clear('captcha_provider_down'), false, 'clearing again finds nothing open');
select is(alerts_raise('captcha_provider_down', 'failing again'), true,
  'after clearing, the next failure opens a new alert');
select is((select count(*)::int from alerts where kind = 'captcha_provider_down'), 2,
  'the history keeps both alerts');
select is((alerts_acknowledge((select max(id) from alerts), 'staff:ann')).acknowledged_by, 'staff:ann',
  'staff can acknowledge an alert');
select throws_ok($$ select alerts_acknowledge(-1, 'staff:ann') $$, 'DB003', NULL,
  'acknowledging an unknown alert is refused');

-- throttle -----------------------------------------------------------------------------
select directories_sync($$[
  {"id": "dir-a", "name": "A", "homepage": "http://127.0.0.1:9/a", "tier": "starter", "priority": 1, "mode": "auto", "enabled": true}
]$$::jsonb) \gset
select count(jobs_enqueue(dev.create_paid_order(format('ent%s@example.com', n), 'enterprise')))
  from generate_series(1, 3) as n \gset
update tiers set max_running = 3 where name = 'enterprise';

select is((tiers_throttle('enterprise', 1, 'orchestrator')).effective_max_running, 1,
  'a throttle lowers the effective cap');
select isnt((select count(*)::int from jobs_next('w1', 60)), 0, 'the first enterprise job is dispatched');
select is((select count(*)::int from jobs_next('w2', 60)), 0,
  'the second waits: the throttled cap is 1 even though max_running is 3');
select is((tiers_throttle('enterprise', null, 'orchestrator')).effective_max_running, 3,
  'lifting the throttle restores the configured cap');
select is((select count(*)::int from jobs_next('w2', 60)), 1, 'dispatch resumes at the full cap');
select throws_ok($$ select tiers_throttle('platinum', 1, 'orchestrator') $$, 'DB003', NULL,
  'an unknown tier is refused');

select results_eq(
  $$ select action, from_status, to_status from audit_log where action like 'tier.%' order by id $$,
  $$ values ('tier.throttled', null, '1'), ('tier.unthrottled', '1', null) $$,
  'throttling and lifting are audited');
select results_eq(
  $$ select action, count(*)::int from audit_log where action like 'alert.%' group by action order by action $$,
  $$ values ('alert.acknowledged', 1), ('alert.cleared', 1), ('alert.raised', 2) $$,
  'alert changes are audited (a refresh of an open alert is not a new event)');

select * from finish();
rollback;
