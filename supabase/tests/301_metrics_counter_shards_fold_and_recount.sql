-- Counter shards (20261208000140): the shards of backends that are gone fold into shard 0 with
-- the totals unchanged; a live backend's shard stays; a recount from the raw tables gives the
-- same totals; only service_role may fold or recount.
begin;
set search_path = public, extensions;
select plan(14);

select ok(not has_function_privilege(r, f, 'execute'), r || ' may not execute ' || f)
  from (values ('anon'), ('authenticated')) roles(r),
       (values ('public.metrics_counters_fold()'), ('public.metrics_counters_recount()')) fns(f);
select ok(has_function_privilege('service_role', 'public.metrics_counters_fold()', 'execute')
          and has_function_privilege('service_role', 'public.metrics_counters_recount()', 'execute'),
  'service_role may fold and recount');
set local role authenticated;
select throws_ok('select metrics_counters_fold()', '42501', NULL, 'a signed-in user may not fold');
reset role;

-- Some real rows to count, then a clean rebuild as the baseline.
select directories_sync($$[
  {"id": "dir-a", "name": "A", "homepage": "http://127.0.0.1:9/a", "tier": "starter", "priority": 1, "mode": "auto", "enabled": true}
]$$::jsonb) \gset
select j.id as job_id from jobs_enqueue(dev.create_paid_order('folded@example.com', 'starter')) j \gset
select metrics_counters_recount();
create temp table baseline as
  select metrics_totals() || jsonb_build_object('jobs', queue_stats() -> 'jobs') as totals;

-- Values moved between shards (totals unchanged): two pids no backend has, and this one's.
insert into private.metrics_counters as m (name, shard, value) values
  ('attempts.success', 0, -5), ('attempts.success', 999999991, 5),
  ('jobs.pending', 999999992, 2), ('retries', 999999991, -3), ('retries', pg_backend_pid(), 3)
on conflict (name, shard) do update set value = m.value + excluded.value;
update private.metrics_counters set value = value - 2 where name = 'jobs.pending' and shard = 0;
select is(metrics_totals() || jsonb_build_object('jobs', queue_stats() -> 'jobs'),
  (select totals from baseline), 'the moved values leave the totals as they were');

set local role service_role;
select is(metrics_counters_fold(), 3, 'the three rows of dead shards are folded');
reset role;
select is(metrics_totals() || jsonb_build_object('jobs', queue_stats() -> 'jobs'),
  (select totals from baseline), 'after the fold the totals are unchanged');
select is((select count(*) from private.metrics_counters where shard in (999999991, 999999992)),
  0::bigint, 'no row of a dead shard is left');
select is((select value from private.metrics_counters where name = 'retries' and shard = pg_backend_pid()),
  3::bigint, 'a live backend''s shard is left alone');
select is(metrics_counters_fold(), 0, 'a second fold finds nothing to do');

set local role service_role;
select metrics_counters_recount();
reset role;
select is(metrics_totals() || jsonb_build_object('jobs', queue_stats() -> 'jobs'),
  (select totals from baseline), 'a recount from the raw tables equals the fold''s totals');
select is((select count(*) from private.metrics_counters where shard <> 0), 0::bigint,
  'a recount keeps only shard 0');

select * from finish();
rollback;
