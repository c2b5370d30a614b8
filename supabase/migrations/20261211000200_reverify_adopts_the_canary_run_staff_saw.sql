-- Why (issue 17, review): staff_directory_reverify adopted the newest canary run with a
-- signature, whatever run the staff member had looked at. A run that arrived between the page
-- load and the click (the CronJob, another staff member's --directory run) became the
-- baseline unseen, even one that failed a step on a broken page. The function now takes the
-- time of the latest run the page showed (seen_canary_at; null: the page showed none) and
-- refuses, naming the newer run, when a later run has arrived since; it adopts the latest run
-- at or before that time. The one-argument form is dropped, so no caller re-verifies unseen.

drop function public.staff_directory_reverify(text);

-- From the latest body (20261210000200), plus seen_canary_at.
create function public.staff_directory_reverify(directory_id text, seen_canary_at timestamptz)
returns jsonb
language plpgsql security definer set search_path = ''
as $$
declare
  v_dir public.directories;
  v_run public.directory_canary_runs;
  v_newer timestamptz;
begin
  perform private.require_staff();
  select d.* into v_dir from public.directories d
   where d.id = staff_directory_reverify.directory_id for no key update;
  if not found then
    raise exception 'directory % not found', staff_directory_reverify.directory_id using errcode = 'DB003';
  end if;
  select max(r.ran_at) into v_newer from public.directory_canary_runs r
   where r.directory_id = v_dir.id
     and (seen_canary_at is null or r.ran_at > seen_canary_at);
  if v_newer is not null then
    raise exception 'a canary run of % at % came in after the page was loaded: reload and look at it before re-verifying',
      v_dir.id, v_newer using errcode = 'DB002';
  end if;
  -- The latest run that read the page, up to the one seen; none keeps the baseline there is.
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
      'previous_digest', v_dir.signature_digest, 'drifted_at', v_dir.drifted_at,
      'seen_canary_at', seen_canary_at)));
  if v_dir.drifted_at is not null then
    perform private.recipe_drift_alert_refresh();
  end if;
  return jsonb_build_object('directory_id', v_dir.id, 'was_drifted', v_dir.drifted_at is not null,
    'digest', coalesce(v_run.digest, v_dir.signature_digest), 'run_id', v_run.id);
end;
$$;
revoke execute on function public.staff_directory_reverify(text, timestamptz) from public, anon;
grant execute on function public.staff_directory_reverify(text, timestamptz) to authenticated;
