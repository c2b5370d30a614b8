-- Why: issue 17, directory health in the staff dashboard. Staff see, per directory, how its
-- recipe is doing and act on it; the actions are audited with the staff member's identity.
-- Each function runs under the staff user's JWT (portal), checks private.require_staff and is
-- refused to everyone else with 42501, as the other staff_* functions.
--   * staff_directory_reverify: the person has looked at the site and the recipe. The latest
--     canary run's signature becomes the baseline, verified_at is now, the drift is cleared
--     (the directory is back in new jobs if enabled) and the recipe_drift alert is cleared
--     when no directory is left drifted, or names only the ones still drifted.
--   * staff_directory_set_enabled: staff's switch. A later `dbolt directories sync` still
--     sets `enabled` from directories.json (the file stays the source of the catalogue).
--   * staff_directory_health: the health page's rows (below).

create function public.staff_directory_reverify(directory_id text) returns jsonb
language plpgsql security definer set search_path = ''
as $$
declare
  v_dir public.directories;
  v_run public.directory_canary_runs;
begin
  perform private.require_staff();
  select d.* into v_dir from public.directories d
   where d.id = staff_directory_reverify.directory_id for no key update;
  if not found then
    raise exception 'directory % not found', staff_directory_reverify.directory_id using errcode = 'DB003';
  end if;
  -- The latest run that read the page; none yet keeps the baseline there is (maybe none).
  select r.* into v_run from public.directory_canary_runs r
   where r.directory_id = v_dir.id and r.digest is not null
   order by r.ran_at desc, r.id desc limit 1;

  update public.directories d
     set verified_at = now(),
         drifted_at = null,
         signature = coalesce(v_run.signature, d.signature),
         signature_digest = coalesce(v_run.digest, d.signature_digest),
         signed_at = case when v_run.id is null then d.signed_at else v_run.ran_at end
   where d.id = v_dir.id;
  perform private.audit(private.staff_actor(), 'directory.reverified', null, v_dir.id,
    case when v_dir.drifted_at is null then null else 'drifted' end, 'verified',
    jsonb_strip_nulls(jsonb_build_object('run_id', v_run.id, 'digest', v_run.digest,
      'previous_digest', v_dir.signature_digest, 'drifted_at', v_dir.drifted_at)));
  if v_dir.drifted_at is not null then
    perform private.recipe_drift_alert_refresh();
  end if;
  return jsonb_build_object('directory_id', v_dir.id, 'was_drifted', v_dir.drifted_at is not null,
    'digest', coalesce(v_run.digest, v_dir.signature_digest), 'run_id', v_run.id);
end;
$$;
revoke execute on function public.staff_directory_reverify(text) from public, anon;
grant execute on function public.staff_directory_reverify(text) to authenticated;

create function public.staff_directory_set_enabled(directory_id text, enabled boolean) returns jsonb
language plpgsql security definer set search_path = ''
as $$
declare
  v_dir public.directories;
begin
  perform private.require_staff();
  perform private.check_argument(staff_directory_set_enabled.enabled is not null, 'enabled is required');
  select d.* into v_dir from public.directories d
   where d.id = staff_directory_set_enabled.directory_id for no key update;
  if not found then
    raise exception 'directory % not found', staff_directory_set_enabled.directory_id using errcode = 'DB003';
  end if;
  if v_dir.enabled is distinct from staff_directory_set_enabled.enabled then
    update public.directories d set enabled = staff_directory_set_enabled.enabled where d.id = v_dir.id;
    perform private.audit(private.staff_actor(),
      case when staff_directory_set_enabled.enabled then 'directory.enabled' else 'directory.disabled' end,
      null, v_dir.id,
      case when v_dir.enabled then 'enabled' else 'disabled' end,
      case when staff_directory_set_enabled.enabled then 'enabled' else 'disabled' end, '{}');
  end if;
  return jsonb_build_object('directory_id', v_dir.id, 'enabled', staff_directory_set_enabled.enabled,
    'changed', v_dir.enabled is distinct from staff_directory_set_enabled.enabled);
end;
$$;
revoke execute on function public.staff_directory_set_enabled(text, boolean) from public, anon;
grant execute on function public.staff_directory_set_enabled(text, boolean) to authenticated;

-- One row per directory, drifted first, then enabled, then by name:
--   last canary (time, ok, failed step), the baseline's age (signed_at);
--   success rate over 7 and 30 days: finished attempts (succeeded / (succeeded + failed)),
--     from private.directory_attempts_between, which reads the rollups (20261208001010);
--   captcha rate over 30 days: attempts that met a captcha / attempts, and the share of those
--     solved, from the daily rollups (private.attempt_rollups' captcha columns) of the last 30
--     whole UTC days and today: no raw rows;
--   median attempt time: job_results.duration_ms, which no rollup keeps, so this one reads
--     raw rows, bounded: per directory at most the latest 500 attempts of the last 30 days,
--     found through job_results_directory_reported_idx (directory_id, reported_at) read
--     backwards; a page load reads at most 500 rows per directory, whatever the history;
--   drift history: how many canary runs took it out of new jobs, and the last failing run.
create function public.staff_directory_health()
returns table (
  directory_id text,
  name text,
  enabled boolean,
  mode text,
  tier text,
  verified_at timestamptz,
  drifted_at timestamptz,
  signed_at timestamptz,
  signature_digest text,
  last_canary_at timestamptz,
  last_canary_ok boolean,
  last_canary_failed_step text,
  last_canary_error text,
  attempts_7d bigint,
  finished_7d bigint,
  success_rate_7d numeric,
  attempts_30d bigint,
  finished_30d bigint,
  success_rate_30d numeric,
  median_attempt_ms_30d int,
  timed_attempts_30d int,
  captcha_rate_30d numeric,
  captcha_solved_rate_30d numeric,
  canary_runs bigint,
  drift_count bigint,
  last_drift_at timestamptz
)
language plpgsql stable security definer set search_path = ''
as $$
declare
  v_now constant timestamptz := now();
begin
  perform private.require_staff();
  return query
  with week as (
    select t.directory_id as id, t.attempts as n, t.succeeded + t.failed as done, t.succeeded as ok
      from private.directory_attempts_between(v_now - interval '7 days', 'infinity') t
  ),
  month as (
    select t.directory_id as id, t.attempts as n, t.succeeded + t.failed as done, t.succeeded as ok
      from private.directory_attempts_between(v_now - interval '30 days', 'infinity') t
  ),
  captchas as (
    select a.directory_id as id, sum(a.attempts) as n,
           sum(a.captchas_solved) as solved, sum(a.captchas_failed) as failed
      from private.attempt_rollups a
     where a.bucket_hours = 24 and a.directory_id <> ''
       and a.bucket >= date_bin('1 day', v_now - interval '30 days', timestamptz '2000-01-01 00:00:00+00')
     group by a.directory_id
  ),
  runs as (
    select r.directory_id as id, count(*) as n,
           count(*) filter (where r.raised_drift) as drifts,
           max(r.ran_at) filter (where not r.ok) as last_bad
      from public.directory_canary_runs r
     group by r.directory_id
  )
  select d.id, d.name, d.enabled, d.mode, d.tier, d.verified_at, d.drifted_at, d.signed_at,
         d.signature_digest,
         lc.ran_at, lc.ok, lc.failed_step, lc.error,
         coalesce(w.n, 0)::bigint, coalesce(w.done, 0)::bigint, round(w.ok::numeric / nullif(w.done, 0), 4),
         coalesce(m.n, 0)::bigint, coalesce(m.done, 0)::bigint, round(m.ok::numeric / nullif(m.done, 0), 4),
         md.median_ms, coalesce(md.timed, 0),
         round((c.solved + c.failed)::numeric / nullif(c.n, 0), 4),
         round(c.solved::numeric / nullif(c.solved + c.failed, 0), 4),
         coalesce(rn.n, 0)::bigint, coalesce(rn.drifts, 0)::bigint, rn.last_bad
    from public.directories d
    left join week w on w.id = d.id
    left join month m on m.id = d.id
    left join captchas c on c.id = d.id
    left join runs rn on rn.id = d.id
    left join lateral (
      select r.ran_at, r.ok, r.failed_step, r.error
        from public.directory_canary_runs r
       where r.directory_id = d.id
       order by r.ran_at desc, r.id desc limit 1
    ) lc on true
    left join lateral (
      select (percentile_cont(0.5) within group (order by x.duration_ms))::int as median_ms,
             count(*)::int as timed
        from (select jr.duration_ms from public.job_results jr
               where jr.directory_id = d.id and jr.reported_at >= v_now - interval '30 days'
               order by jr.reported_at desc limit 500) x
       where x.duration_ms is not null
    ) md on true
   order by d.drifted_at is null, not d.enabled, d.name, d.id;
end;
$$;
revoke execute on function public.staff_directory_health() from public, anon;
grant execute on function public.staff_directory_health() to authenticated;
