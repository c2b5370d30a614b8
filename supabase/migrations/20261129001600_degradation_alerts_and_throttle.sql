-- Why: graceful degradation (seed §9, §10). When the captcha provider or the proxy pool
-- fails, the orchestrator raises an alert staff can see and slows dispatch by lowering a
-- tier's cap; when the provider recovers both are undone. These are the guarded, audited
-- ways to do that.

-- Opens the alert of `kind`, or refreshes the open one (at most one open alert per kind).
-- Returns true when it was newly raised, so the caller notifies people only once.
create function public.alerts_raise(kind text, message text, details jsonb default '{}')
returns boolean
language plpgsql security definer set search_path = ''
as $$
begin
  perform private.check_argument(coalesce(alerts_raise.kind, '') ~ '^[a-z_]+$',
    'kind must be lower_snake_case');
  perform private.check_argument(btrim(coalesce(alerts_raise.message, '')) <> '',
    'message is required');
  update public.alerts a
     set message = alerts_raise.message, details = coalesce(alerts_raise.details, '{}')
   where a.kind = alerts_raise.kind and a.cleared_at is null;
  if found then
    return false;
  end if;
  insert into public.alerts (kind, message, details)
  values (alerts_raise.kind, alerts_raise.message, coalesce(alerts_raise.details, '{}'));
  perform private.audit('orchestrator', 'alert.raised', null, null, null, alerts_raise.kind,
    jsonb_build_object('message', alerts_raise.message));
  return true;
exception
  -- Two orchestrators raising the same alert at once: the other one won, which is fine.
  when unique_violation then
    return false;
end;
$$;
revoke execute on function public.alerts_raise(text, text, jsonb) from public;
grant execute on function public.alerts_raise(text, text, jsonb) to service_role;

-- Clears the open alert of `kind`; returns true if there was one.
create function public.alerts_clear(kind text) returns boolean
language plpgsql security definer set search_path = ''
as $$
begin
  update public.alerts a set cleared_at = now()
   where a.kind = alerts_clear.kind and a.cleared_at is null;
  if not found then
    return false;
  end if;
  perform private.audit('orchestrator', 'alert.cleared', null, null, alerts_clear.kind, null, '{}');
  return true;
end;
$$;
revoke execute on function public.alerts_clear(text) from public;
grant execute on function public.alerts_clear(text) to service_role;

create function public.alerts_acknowledge(alert_id bigint, actor text) returns public.alerts
language plpgsql security definer set search_path = ''
as $$
declare
  v_alert public.alerts;
begin
  perform private.check_actor(alerts_acknowledge.actor);
  update public.alerts a
     set acknowledged_at = coalesce(a.acknowledged_at, now()),
         acknowledged_by = coalesce(a.acknowledged_by, alerts_acknowledge.actor)
   where a.id = alerts_acknowledge.alert_id
  returning a.* into v_alert;
  if not found then
    raise exception 'alert % not found', alerts_acknowledge.alert_id using errcode = 'DB003';
  end if;
  perform private.audit(alerts_acknowledge.actor, 'alert.acknowledged', null, null, null, null,
    jsonb_build_object('alert_id', v_alert.id, 'kind', v_alert.kind));
  return v_alert;
end;
$$;
revoke execute on function public.alerts_acknowledge(bigint, text) from public;
grant execute on function public.alerts_acknowledge(bigint, text) to service_role;

-- Lowers (or, with null, lifts) a tier's dispatch cap while a provider is degraded. Jobs
-- already running keep their slots; jobs_next simply waits until running drops below it.
create function public.tiers_throttle(tier text, max_running int, actor text)
returns public.tiers
language plpgsql security definer set search_path = ''
as $$
declare
  v_tier public.tiers;
  v_before int;
begin
  perform private.check_actor(tiers_throttle.actor);
  perform private.check_argument(tiers_throttle.max_running is null or tiers_throttle.max_running >= 0,
    'max_running must be null (no throttle) or at least 0');
  select t.throttled_max_running into v_before from public.tiers t
   where t.name = tiers_throttle.tier for update;
  if not found then
    raise exception 'tier % not found', tiers_throttle.tier using errcode = 'DB003';
  end if;
  update public.tiers t set throttled_max_running = tiers_throttle.max_running
   where t.name = tiers_throttle.tier
  returning t.* into v_tier;
  if v_before is distinct from tiers_throttle.max_running then
    perform private.audit(tiers_throttle.actor,
      case when tiers_throttle.max_running is null then 'tier.unthrottled' else 'tier.throttled' end,
      null, null, v_before::text, tiers_throttle.max_running::text,
      jsonb_build_object('tier', v_tier.name));
  end if;
  return v_tier;
end;
$$;
revoke execute on function public.tiers_throttle(text, int, text) from public;
grant execute on function public.tiers_throttle(text, int, text) to service_role;

-- Provider health over a recent window, from the attempt log (shared by every orchestrator
-- replica, and surviving restarts).
create function public.provider_health(window_seconds int default 300) returns jsonb
language sql stable security definer set search_path = ''
as $$
  select jsonb_build_object(
    'captcha_attempts', count(*) filter (where r.captcha_kind is not null),
    'captcha_failures', count(*) filter (where r.captcha_kind is not null and r.captcha_solved is not true),
    'proxy_attempts', count(*) filter (where r.proxy is not null or r.error_code = 'proxy_error'),
    'proxy_failures', count(*) filter (where r.error_code = 'proxy_error')
  )
  from public.job_results r
  where r.reported_at > now() - make_interval(secs => window_seconds)
$$;
revoke execute on function public.provider_health(int) from public;
grant execute on function public.provider_health(int) to service_role;

-- Monotonic totals for Prometheus counters: job_results and audit_log are append-only, so
-- these only grow, whichever replica reads them.
create function public.metrics_totals() returns jsonb
language sql stable security definer set search_path = ''
as $$
  select jsonb_build_object(
    'attempts_by_outcome', (
      select jsonb_object_agg(o.outcome, coalesce(c.n, 0))
        from unnest(enum_range(null::public.attempt_outcome)) as o(outcome)
        left join (select r.outcome, count(*) as n from public.job_results r group by r.outcome) c
          on c.outcome = o.outcome
    ),
    'retries', (select count(*) from public.job_results r where r.attempt > 1),
    'captchas_solved', (select count(*) from public.job_results r where r.captcha_solved),
    'captchas_failed', (
      select count(*) from public.job_results r
       where r.captcha_kind is not null and r.captcha_solved is not true
    ),
    'proxy_failures', (select count(*) from public.job_results r where r.error_code = 'proxy_error'),
    'jobs_completed', (select count(*) from public.audit_log a where a.action = 'job.completed')
  )
$$;
revoke execute on function public.metrics_totals() from public;
grant execute on function public.metrics_totals() to service_role;
