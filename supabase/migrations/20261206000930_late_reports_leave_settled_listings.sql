-- Why: a late fenced report (a lost lease's attempt answering after another attempt took
-- the directory over) knocked a directory whose listing is settled back to needs_review
-- when it was already_listed, live_mismatch or not_live: only submitted and live were
-- spared. Those states are set by the lookup and the live checks (20261206000500) and say
-- where the listing stands; a late answer changes none of them (the alert still goes to
-- staff). One definition of that set, private.listing_settled.

-- A directory whose listing exists or was checked: submitted, live, already_listed,
-- live_mismatch, not_live. Only the live checks move it on.
create function private.listing_settled(status public.job_directory_status) returns boolean
language sql immutable set search_path = ''
as $$
  select $1 in ('submitted', 'live', 'already_listed', 'live_mismatch', 'not_live')
$$;
revoke execute on function private.listing_settled(public.job_directory_status)
  from public, anon, authenticated;

-- As 20261206000200, with the settled set above.
create or replace function private.record_late_report(
  job public.jobs, dir public.job_directories, attempt public.job_results, lease private.job_leases
) returns public.job_directories
language plpgsql set search_path = ''
as $$
declare
  v_dir public.job_directories := dir;
  v_from public.job_directory_status := dir.status;
  v_fenced boolean;
  v_handed boolean;
  v_next public.job_directory_status;
  v_applies boolean;
  v_verdict text;
begin
  -- The attempt a lost lease can have made is the directory's current one or the next: a
  -- larger number is no attempt that happened.
  perform private.check_argument(attempt.attempt <= v_dir.attempts + 1,
    format('attempt must be at most %s for directory %s (got %s)', v_dir.attempts + 1,
      v_dir.directory_id, attempt.attempt));
  v_fenced := exists (
    select 1 from private.submit_fences f
     where f.job_id = v_dir.job_id and f.directory_id = v_dir.directory_id
       and f.attempt = attempt.attempt and f.lease_token = lease.lease_token);
  -- Handed over: another lease is working it, reported it at or after this attempt, or
  -- fenced it at or after this attempt.
  v_handed := (v_dir.status = 'in_progress' and job.lease_token is distinct from lease.lease_token)
    or exists (
      select 1 from public.job_results r
       where r.job_id = v_dir.job_id and r.directory_id = v_dir.directory_id
         and r.attempt >= attempt.attempt and r.lease_token is distinct from lease.lease_token)
    or exists (
      select 1 from private.submit_fences f
       where f.job_id = v_dir.job_id and f.directory_id = v_dir.directory_id
         and f.attempt >= attempt.attempt and f.lease_token <> lease.lease_token);

  insert into public.job_results (
    job_id, directory_id, attempt, outcome, confirmed, error_code, message, listing_url,
    action_required, duration_ms, captcha_kind, captcha_solved, proxy, artifacts, worker_id,
    lease_token, late, wait_kind, wait_seconds, resume_phase
  ) values (
    v_dir.job_id, v_dir.directory_id, attempt.attempt, attempt.outcome, attempt.confirmed,
    attempt.error_code, attempt.message, attempt.listing_url, attempt.action_required,
    attempt.duration_ms, attempt.captcha_kind, attempt.captcha_solved, attempt.proxy,
    attempt.artifacts, lease.worker_id, lease.lease_token, true, attempt.wait_kind,
    attempt.wait_seconds, attempt.resume_phase
  );

  v_next := private.status_after(attempt, greatest(v_dir.max_attempts, attempt.attempt + 1), v_fenced);
  -- A listing reported for a directory already settled as failed (staff marked it, or a later
  -- attempt failed) contradicts that settlement: staff decide, as for a hand-over.
  v_handed := v_handed or (v_dir.status = 'failed' and attempt.outcome in ('success', 'needs_action'));
  if not v_handed then
    -- Where the outcome still applies: a directory waiting again (queued, or held for
    -- review after a lost fence) takes it; one skipped by a cancel takes only a listing that
    -- was made. A transient error changes nothing the queue does not already do, nor does a
    -- parked attempt (its lease, and so its wait, is gone) or an unfenced already_listed.
    -- A listing (success, needs_action) is applied only with this lease's fence for that
    -- attempt: the worker fences before every submit, so an unfenced "success" is no fact a
    -- stale token may write into the directory. Held for review means held by that fence.
    v_applies := attempt.outcome not in ('transient_error', 'parked', 'already_listed')
      and case v_dir.status
      when 'queued' then attempt.attempt = v_dir.attempts + 1
        and (attempt.outcome not in ('success', 'needs_action') or v_fenced)
      when 'needs_review' then v_fenced and attempt.attempt = v_dir.attempts
      when 'skipped' then attempt.outcome = 'success' and v_fenced
      else false end;
    if v_applies then
      update public.job_directories d
         set status = v_next,
             attempts = greatest(d.attempts, attempt.attempt),
             last_outcome = attempt.outcome,
             last_error_code = attempt.error_code,
             last_message = attempt.message,
             listing_url = coalesce(attempt.listing_url, d.listing_url),
             action_required = case when v_next = 'needs_action' then attempt.action_required end,
             submitted_at = case when v_next = 'submitted' then now() else d.submitted_at end
       where d.job_id = v_dir.job_id and d.directory_id = v_dir.directory_id
      returning d.* into v_dir;
      v_verdict := 'applied';
    else
      v_verdict := 'recorded';
    end if;
  elsif v_fenced then
    -- Two attempts may both have reached the site: keep both, stop further attempts and let
    -- staff check for a duplicate. A directory settled with its listing stays as it is (its
    -- live checks move it, nothing else); the alert carries the flag then.
    if not private.listing_settled(v_dir.status) then
      update public.job_directories d
         set status = 'needs_review',
             last_message = case when v_from = 'failed'
               then 'A late answer says the site took the listing after it was settled as failed; our team checks the site.'
               else 'Two attempts may both have reached the site; our team checks for a duplicate listing.' end
       where d.job_id = v_dir.job_id and d.directory_id = v_dir.directory_id
      returning d.* into v_dir;
    end if;
    perform public.alerts_raise('late_report_conflict',
      format('Directory %s of job %s: a late report (%s) arrived after another attempt took it over',
        v_dir.directory_id, v_dir.job_id, attempt.outcome),
      jsonb_build_object('job_id', v_dir.job_id, 'directory_id', v_dir.directory_id,
        'attempt', attempt.attempt, 'outcome', attempt.outcome));
    v_verdict := 'flagged';
  else
    v_verdict := 'recorded';
  end if;

  perform private.audit('worker:' || lease.worker_id, 'directory.late_report', v_dir.job_id,
    v_dir.directory_id, v_from::text, v_dir.status::text,
    jsonb_strip_nulls(jsonb_build_object('attempt', attempt.attempt, 'outcome', attempt.outcome,
      'error_code', attempt.error_code, 'fenced', v_fenced, 'handed_over', v_handed,
      'verdict', v_verdict)));
  return v_dir;
end;
$$;
