-- The metrics counters' helpers (20261208001100) are PL/pgSQL, so their plans are kept for
-- the session, with the same security and grants: no API role calls them; metrics_counters_add
-- still runs as its owner (the triggers call it for any writer) and still adds to the
-- caller's own shard.
begin;
set search_path = public, extensions;
select plan(10);

select is_empty(
  $$ select p.oid::regprocedure::text from pg_proc p join pg_language l on l.oid = p.prolang
      where l.lanname <> 'plpgsql'
        and p.oid in ('private.metrics_counters_add'::regproc,
                      'private.attempt_counter_names'::regproc) $$,
  'the counters'' helpers are PL/pgSQL');
select ok((select prosecdef from pg_proc where oid = 'private.metrics_counters_add'::regproc),
  'metrics_counters_add still runs as its owner');
select ok((select provolatile = 'i' and proretset from pg_proc
            where oid = 'private.attempt_counter_names'::regproc),
  'attempt_counter_names is still an immutable set-returning function');

select ok(not has_function_privilege(r, 'private.metrics_counters_add(jsonb)', 'execute'),
          format('%s cannot call metrics_counters_add', r))
  from unnest(array['anon', 'authenticated', 'service_role']) as r;
select ok(not has_function_privilege(r,
            'private.attempt_counter_names(public.attempt_outcome, boolean, boolean, boolean, boolean, boolean)',
            'execute'),
          format('%s cannot call attempt_counter_names', r))
  from unnest(array['anon', 'authenticated']) as r;

-- Same results: a confirmed first-attempt success, and a retried captcha failure on a proxy.
select is(array(select private.attempt_counter_names('success', true, false, false, null, false)
                 order by 1),
  array['attempts.success', 'attempts_finished.succeeded'],
  'a confirmed success counts as an attempt and a finished success');

select private.metrics_counters_add('{"test.q2": 3, "test.zero": 0}');
select is(array(select m.name || '=' || m.value from private.metrics_counters m
                 where m.name like 'test.%' and m.shard = pg_backend_pid()),
  array['test.q2=3'], 'metrics_counters_add adds to this backend''s shard and skips zeros');

select * from finish();
rollback;
