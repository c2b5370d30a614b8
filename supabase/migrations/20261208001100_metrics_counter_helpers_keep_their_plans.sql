-- Why: the metrics counters' helpers were LANGUAGE sql functions that pin their search_path,
-- so they are never inlined and PostgreSQL parses, analyses and plans their bodies again on
-- every call from a trigger (as 20261208000710 found for the hot path's other helpers):
-- metrics_counters_add runs on every change of a job's status and every audit insert, and
-- attempt_counter_names once per kind of attempt in every report. The same bodies in
-- PL/pgSQL keep their plans for the session (bench/queue/backend_cpu, issue 16). Nothing
-- else changes: same signatures, volatility, security, results and grants.
-- Bodies from their latest definitions: both 20261208000100 (20261208001000 calls them, it
-- does not redefine them).

create or replace function private.attempt_counter_names(
  outcome public.attempt_outcome, confirmed boolean, is_retry boolean, has_captcha boolean,
  captcha_solved boolean, proxy_failed boolean
) returns setof text
language plpgsql immutable set search_path = ''
as $$
begin
  return query
  select 'attempts.' || outcome::text
  union all
  select 'attempts_finished.' || private.attempt_result(outcome, confirmed)
   where private.attempt_result(outcome, confirmed) in ('succeeded', 'failed')
  union all select 'retries' where is_retry
  union all select 'captchas_solved' where captcha_solved
  union all select 'captchas_failed' where has_captcha and captcha_solved is not true
  union all select 'proxy_failures' where proxy_failed;
end;
$$;

create or replace function private.metrics_counters_add(deltas jsonb) returns void
language plpgsql security definer set search_path = ''
as $$
begin
  insert into private.metrics_counters as m (name, shard, value)
  select d.key, pg_backend_pid(), d.value::bigint
    from jsonb_each_text(deltas) d
   where d.value::bigint <> 0
   order by d.key
  on conflict (name, shard) do update set value = m.value + excluded.value;
end;
$$;
