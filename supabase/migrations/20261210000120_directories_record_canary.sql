-- Why: the canary's one write (issue 17). The canary (service role) reports each dry run; the
-- database decides what it means, in one transaction, so two canaries or a canary and a staff
-- re-verify cannot interleave (the directory's row is locked):
--   * the run is stored (directory_canary_runs);
--   * a directory without a baseline takes this run's signature as its baseline;
--   * a digest other than the baseline's, or a failed step, is drift: the directory is marked
--     drifted (out of new jobs, 20261210000110), the `recipe_drift` alert is raised once for
--     it (alerts keep one open alert per kind: it names every drifted directory, and a
--     directory already drifted changes nothing), and every job that holds it queued — not
--     started there, nothing sent to the site — gets it skipped with code recipe_drift, which
--     the replacement trigger replaces by the package-count rules. Directories already in
--     progress or parked (an account made, a submit fenced) are left to finish: if the drift
--     breaks them, the worker's failure takes the ordinary path;
--   * a later run with the baseline's digest does not clear drift: staff re-verify does
--     (staff_directory_reverify), so a site flapping back and forth stays out until a person
--     has looked.
-- The sweep of queued directories runs on every failing run, not only the first, so a
-- directory a staff retry re-queued meanwhile is taken out too.

-- The one `recipe_drift` alert, kept in step with the drifted directories: raised (true)
-- when the first one drifts, its words refreshed while it is open (false: not raised again),
-- cleared when none is left.
create function private.recipe_drift_alert_refresh() returns boolean
language plpgsql security definer set search_path = ''
as $$
declare
  v_ids jsonb;
  v_names text;
begin
  select jsonb_agg(d.id order by d.drifted_at, d.id), string_agg(d.name, ', ' order by d.drifted_at, d.id)
    into v_ids, v_names
    from public.directories d where d.drifted_at is not null;
  if v_ids is null then
    perform public.alerts_clear('recipe_drift');
    return false;
  end if;
  return public.alerts_raise('recipe_drift',
    'Recipe drift, out of new jobs until staff re-verify: ' || v_names,
    jsonb_build_object('directories', v_ids));
end;
$$;
revoke execute on function private.recipe_drift_alert_refresh() from public, anon, authenticated;

create function public.directories_record_canary(
  directory_id text, signature jsonb, digest text,
  failed_step text default null, error text default null
) returns jsonb
language plpgsql security definer set search_path = ''
as $$
declare
  v_dir public.directories;
  v_failed boolean;
  v_ok boolean;
  v_set_baseline boolean;
  v_newly_drifted boolean;
  v_run_id bigint;
  v_raised boolean := false;
  v_skipped int := 0;
  v_row record;
begin
  perform private.check_argument(
    (directories_record_canary.signature is null) = (directories_record_canary.digest is null),
    'signature and digest come together (both null only when a step failed)');
  perform private.check_argument(
    directories_record_canary.signature is null or jsonb_typeof(directories_record_canary.signature) = 'object',
    'signature must be a JSON object');
  perform private.check_argument(
    directories_record_canary.digest is null or directories_record_canary.digest ~ '^[0-9a-f]{64}$',
    'digest must be the sha256 hex (64 lower-case hex digits) of the signature''s canonical JSON');
  perform private.check_argument(
    directories_record_canary.digest is not null or directories_record_canary.failed_step is not null,
    'a run without a signature must name its failed_step');
  perform private.check_argument(
    directories_record_canary.failed_step is null or btrim(directories_record_canary.failed_step) <> '',
    'failed_step must not be blank');

  select d.* into v_dir from public.directories d
   where d.id = directories_record_canary.directory_id for no key update;
  if not found then
    raise exception 'directory % not found', directories_record_canary.directory_id using errcode = 'DB003';
  end if;

  v_failed := directories_record_canary.failed_step is not null;
  v_ok := not v_failed and (v_dir.signature_digest is null
                            or v_dir.signature_digest = directories_record_canary.digest);
  v_set_baseline := v_ok and v_dir.signature_digest is null;
  v_newly_drifted := not v_ok and v_dir.drifted_at is null;

  insert into public.directory_canary_runs (directory_id, signature, digest, baseline_digest, ok,
                                            failed_step, error, set_baseline, raised_drift)
  values (v_dir.id, directories_record_canary.signature, directories_record_canary.digest,
          v_dir.signature_digest, v_ok, directories_record_canary.failed_step,
          left(directories_record_canary.error, 2000), v_set_baseline, v_newly_drifted)
  returning id into v_run_id;

  if v_set_baseline then
    update public.directories d
       set signature = directories_record_canary.signature,
           signature_digest = directories_record_canary.digest, signed_at = now()
     where d.id = v_dir.id;
    perform private.audit('canary', 'directory.signature_stored', null, v_dir.id, null, null,
      jsonb_build_object('digest', directories_record_canary.digest, 'run_id', v_run_id));
  end if;

  if not v_ok then
    if v_newly_drifted then
      update public.directories d set drifted_at = now() where d.id = v_dir.id;
      perform private.audit('canary', 'directory.drifted', null, v_dir.id, null, 'drifted',
        jsonb_strip_nulls(jsonb_build_object('run_id', v_run_id,
          'digest', directories_record_canary.digest, 'baseline_digest', v_dir.signature_digest,
          'failed_step', directories_record_canary.failed_step)));
      v_raised := private.recipe_drift_alert_refresh();
    end if;

    -- Not started in an open job: skipped (the trigger replaces it and audits that after
    -- this skip). Each job is locked before its directory row, in job order, as the queue's
    -- own functions lock them, so a worker starting the directory meanwhile cannot deadlock
    -- with this: one of the two goes first and the other sees its result.
    for v_row in
      select jd.job_id from public.job_directories jd
        join public.jobs j on j.id = jd.job_id
       where jd.directory_id = v_dir.id and jd.status = 'queued' and jd.replaced_by is null
         and j.status in ('pending', 'in_progress', 'paused', 'waiting')
       order by j.created_at, j.id
    loop
      perform 1 from public.jobs j
       where j.id = v_row.job_id and j.status in ('pending', 'in_progress', 'paused', 'waiting')
         for update;
      continue when not found;
      perform 1 from public.job_directories jd
       where jd.job_id = v_row.job_id and jd.directory_id = v_dir.id
         and jd.status = 'queued' and jd.replaced_by is null
         for update;
      continue when not found;
      perform private.audit('canary', 'job_directory.skipped', v_row.job_id, v_dir.id,
        'queued', 'skipped', jsonb_build_object('error_code', 'recipe_drift', 'run_id', v_run_id));
      update public.job_directories jd
         set status = 'skipped', last_error_code = 'recipe_drift',
             last_message = 'Taken out by the canary: the recipe drifted ('
               || coalesce('step ' || directories_record_canary.failed_step || ' failed',
                           'the form signature changed') || ')'
       where jd.job_id = v_row.job_id and jd.directory_id = v_dir.id;
      v_skipped := v_skipped + 1;
    end loop;
  end if;

  return jsonb_build_object('run_id', v_run_id, 'ok', v_ok, 'baseline_stored', v_set_baseline,
    'drifted', not v_ok or v_dir.drifted_at is not null, 'newly_drifted', v_newly_drifted,
    'alert_raised', v_raised, 'jobs_skipped', v_skipped);
end;
$$;
revoke execute on function public.directories_record_canary(text, jsonb, text, text, text)
  from public, anon, authenticated;
grant execute on function public.directories_record_canary(text, jsonb, text, text, text) to service_role;
