-- Why: exactly once (issue 13) across a moderation wait (issue 14). A directory parked with
-- resume_phase 'confirm' was submitted (its attempt fenced, then the confirm page said
-- "pending moderation"), but the attempt that resumed it carried no fence, so it forgot:
-- a transient error at the confirm page re-queued it and, attempts spent, failed it; a staff
-- retry then cleared its phase and the next attempt looked the business up, signed up and
-- SUBMITTED AGAIN; a cancel marked it skipped (the record said: never submitted).
-- The rule now: a directory at phase 'confirm' is past its submit.
--   - The attempt that takes it up (jobs_start_directory, or a report of a due parked
--     directory that did not announce its start) is fenced, as jobs_fence_submit would fence
--     it (private.submit_fences under the job's lease, audited `directory.submitting` with
--     past_submit): every fence rule applies — a transient error with no answer from the
--     site, or a lost lease (pause, reap, release, cancel), makes it needs_review, a late
--     report of it is flagged.
--   - jobs_cancel holds a queued or parked directory at phase confirm for review
--     (private.hold_past_submit) instead of skipping it.
--   - jobs_retry keeps the phase confirm (20261206000920): the next attempt resumes at
--     the confirm page (jobs_assignment hands every directory with a phase a `resume`,
--     queued ones included).
-- And: a park for email takes the customer's mailbox lock (20261206000900) first.

-- The fence of an attempt that starts at phase confirm (see above). Idempotent: false when
-- the directory is at another phase or the attempt is fenced already.
create function private.fence_past_submit(p_job public.jobs, p_dir public.job_directories,
  p_attempt int) returns boolean
language plpgsql set search_path = ''
as $$
begin
  if p_dir.phase is distinct from 'confirm' then
    return false;
  end if;
  insert into private.submit_fences (job_id, directory_id, attempt, lease_token, worker_id)
  values (p_dir.job_id, p_dir.directory_id, p_attempt, p_job.lease_token, p_job.worker_id)
  on conflict on constraint submit_fences_pkey do nothing;
  if not found then
    return false;
  end if;
  perform private.audit('worker:' || p_job.worker_id, 'directory.submitting', p_dir.job_id,
    p_dir.directory_id, p_dir.status::text, p_dir.status::text,
    jsonb_build_object('attempt', p_attempt, 'past_submit', true, 'phase', p_dir.phase));
  return true;
end;
$$;
revoke execute on function private.fence_past_submit(public.jobs, public.job_directories, int)
  from public, anon, authenticated;

-- The words on a directory that was submitted but whose listing was not confirmed when the
-- work on it stopped.
create function private.past_submit_held_message() returns text
language sql immutable set search_path = ''
as $$
  select 'The submission was sent; the listing was not confirmed before the work stopped. '
      || 'Our team checks the site before anything is submitted again.'
$$;
revoke execute on function private.past_submit_held_message() from public, anon, authenticated;

-- A job's queued or parked directories at phase confirm go to needs_review (cause: the staff
-- action that stopped the work), audited `directory.past_submit_held`.
create function private.hold_past_submit(job_id uuid, actor text, cause text) returns int
language sql set search_path = ''
as $$
  with held as (
    update public.job_directories d
       set status = 'needs_review', last_message = private.past_submit_held_message()
      from public.job_directories before_hold
     where d.job_id = $1 and d.status in ('queued', 'waiting') and d.phase = 'confirm'
       and before_hold.job_id = d.job_id and before_hold.directory_id = d.directory_id
    returning d.directory_id, before_hold.status as from_status
  ), audited as (
    insert into public.audit_log (actor, action, job_id, directory_id, from_status, to_status, details)
    select $2, 'directory.past_submit_held', $1, h.directory_id, h.from_status::text,
           'needs_review', jsonb_build_object('phase', 'confirm', 'cause', $3)
      from held h
    returning 1
  )
  select count(*)::int from audited
$$;
revoke execute on function private.hold_past_submit(uuid, text, text)
  from public, anon, authenticated;

-- As 20261206000220, and: an attempt at phase confirm is fenced.
create or replace function public.jobs_start_directory(job_id uuid, lease_token uuid, directory_id text)
returns public.job_directories
language plpgsql security definer set search_path = ''
as $$
declare
  v_job public.jobs;
  v_dir public.job_directories;
  v_from public.job_directory_status;
begin
  v_job := private.leased_job(jobs_start_directory.job_id, jobs_start_directory.lease_token);
  select d.* into v_dir from public.job_directories d
   where d.job_id = v_job.id and d.directory_id = jobs_start_directory.directory_id
   for update;
  if not found then
    raise exception 'directory % is not part of job %', jobs_start_directory.directory_id, v_job.id
      using errcode = 'DB003';
  end if;
  if v_dir.status = 'in_progress' then
    return v_dir;
  end if;
  if v_dir.status = 'waiting' and not private.directory_is_due(v_dir) then
    raise exception 'directory % of job % is waiting for its % until %, not due yet',
      v_dir.directory_id, v_job.id, v_dir.wait_kind, v_dir.wait_until using errcode = 'DB002';
  end if;
  if v_dir.status not in ('queued', 'waiting') then
    raise exception 'directory % of job % is %, not queued', v_dir.directory_id, v_job.id, v_dir.status
      using errcode = 'DB002';
  end if;
  v_from := v_dir.status;
  update public.job_directories d set status = 'in_progress'
   where d.job_id = v_dir.job_id and d.directory_id = v_dir.directory_id
  returning d.* into v_dir;
  perform private.fence_past_submit(v_job, v_dir, v_dir.attempts + 1);
  perform private.audit('worker:' || v_job.worker_id,
    case when v_from = 'waiting' then 'directory.resumed' else 'directory.started' end, v_job.id,
    v_dir.directory_id, v_from::text, 'in_progress',
    jsonb_strip_nulls(jsonb_build_object('attempt', v_dir.attempts + 1,
      'phase', case when v_from = 'waiting' then v_dir.phase end,
      'wake_mail_id', case when v_from = 'waiting' then v_dir.wake_mail_id end)));
  return v_dir;
end;
$$;

-- As 20261206000200, and: the mailbox lock first for a park for email; an attempt at phase
-- confirm is fenced.
create or replace function public.jobs_report_attempt(job_id uuid, lease_token uuid, report jsonb)
returns public.job_directories
language plpgsql security definer set search_path = ''
as $$
declare
  v_attempt public.job_results := private.attempt_from_report(jobs_report_attempt.report);
  v_job public.jobs;
  v_lease private.job_leases;
  v_on_time boolean;
  v_previous public.job_results;
  v_dir public.job_directories;
  v_from public.job_directory_status;
  v_next public.job_directory_status;
  v_fenced boolean;
  v_too_many_parks boolean := false;
  v_mail bigint;
begin
  -- A park for email looks for mail already received (below): the customer's mailbox is
  -- locked first, before the job, as the mail receiver locks it (20261206000900).
  if v_attempt.outcome = 'parked' and v_attempt.wait_kind = 'email' then
    perform private.lock_mailbox((select j.customer_id from public.jobs j
                                   where j.id = jobs_report_attempt.job_id));
  end if;
  -- The job is locked whatever the lease, so reports (on time, late, resent) are serialised.
  select j.* into v_job from public.jobs j where j.id = jobs_report_attempt.job_id for update;
  -- Proof: the token is a lease this job was given. Without it nothing is written.
  select l.* into v_lease from private.job_leases l
   where l.lease_token = jobs_report_attempt.lease_token and l.job_id = v_job.id;
  if v_lease.lease_token is null then
    perform private.raise_lease_lost(jobs_report_attempt.job_id, jobs_report_attempt.lease_token);
  end if;
  v_on_time := v_job.status = 'in_progress' and v_job.lease_token = jobs_report_attempt.lease_token;

  -- A resent report (the worker never saw our answer) is acknowledged, not applied twice;
  -- the same attempt with another outcome is a contradiction and refused.
  select r.* into v_previous from public.job_results r
   where r.job_id = v_job.id and r.directory_id = v_attempt.directory_id
     and (r.lease_token = jobs_report_attempt.lease_token or r.lease_token is null)
     and ((not r.late and r.attempt = v_attempt.attempt) or r.late)
   order by r.late, r.id limit 1;
  if v_previous.id is not null then
    if v_previous.outcome is distinct from v_attempt.outcome
       or v_previous.confirmed <> v_attempt.confirmed then
      raise exception 'attempt % of directory % in job % was already reported as %',
        v_previous.attempt, v_previous.directory_id, v_previous.job_id, v_previous.outcome
        using errcode = 'DB002';
    end if;
    select d.* into v_dir from public.job_directories d
     where d.job_id = v_previous.job_id and d.directory_id = v_previous.directory_id;
    return v_dir;
  end if;

  select d.* into v_dir from public.job_directories d
   where d.job_id = v_job.id and d.directory_id = v_attempt.directory_id
   for update;
  if not found then
    raise exception 'directory % is not part of job %', v_attempt.directory_id, v_job.id
      using errcode = 'DB003';
  end if;

  if not v_on_time then
    return private.record_late_report(v_job, v_dir, v_attempt, v_lease);
  end if;
  -- A parked directory that is due may be reported on without announcing the start, as a
  -- queued one may.
  if not (v_dir.status in ('queued', 'in_progress') or private.directory_is_due(v_dir)) then
    -- A directory another (lost) attempt's late report took over: this report is part of
    -- that story, so it is kept with it for staff rather than refused.
    if exists (select 1 from public.job_results r
                where r.job_id = v_dir.job_id and r.directory_id = v_dir.directory_id and r.late) then
      return private.record_late_report(v_job, v_dir, v_attempt, v_lease);
    end if;
    -- Above all: a submitted directory is never submitted (or re-queued) again.
    raise exception 'directory % of job % is % and takes no more attempts', v_dir.directory_id,
      v_job.id, v_dir.status using errcode = 'DB002';
  end if;
  v_from := v_dir.status;
  perform private.check_argument(v_attempt.attempt = v_dir.attempts + 1,
    format('attempt must be %s for directory %s (got %s)', v_dir.attempts + 1, v_dir.directory_id,
      v_attempt.attempt));

  -- Past its submit (phase confirm): the attempt is fenced as if it had fenced itself, also
  -- when it reports without having announced its start (a due parked directory may).
  perform private.fence_past_submit(v_job, v_dir, v_attempt.attempt);
  v_fenced := exists (
    select 1 from private.submit_fences f
     where f.job_id = v_dir.job_id and f.directory_id = v_dir.directory_id
       and f.attempt = v_attempt.attempt);
  v_next := private.status_after(v_attempt, v_dir.max_attempts, v_fenced);
  if v_next = 'waiting' then
    v_too_many_parks := (select count(*) from public.job_results r
                          where r.job_id = v_dir.job_id and r.directory_id = v_dir.directory_id
                            and r.outcome = 'parked' and not r.late) >= private.max_parks() - 1;
    if v_too_many_parks then
      v_next := 'needs_review';
    end if;
  end if;

  insert into public.job_results (
    job_id, directory_id, attempt, outcome, confirmed, error_code, message, listing_url,
    action_required, duration_ms, captcha_kind, captcha_solved, proxy, artifacts, worker_id,
    lease_token, wait_kind, wait_seconds, resume_phase
  ) values (
    v_job.id, v_dir.directory_id, v_attempt.attempt, v_attempt.outcome, v_attempt.confirmed,
    v_attempt.error_code, v_attempt.message, v_attempt.listing_url, v_attempt.action_required,
    v_attempt.duration_ms, v_attempt.captcha_kind, v_attempt.captcha_solved, v_attempt.proxy,
    v_attempt.artifacts, v_job.worker_id, v_job.lease_token, v_attempt.wait_kind,
    v_attempt.wait_seconds, v_attempt.resume_phase
  );

  update public.job_directories d
     set status = v_next,
         attempts = v_attempt.attempt,
         -- Waiting is not a failure: the parked attempt does not spend the budget.
         max_attempts = d.max_attempts + case when v_next = 'waiting' then 1 else 0 end,
         last_outcome = v_attempt.outcome,
         last_error_code = v_attempt.error_code,
         last_message = case
           when v_next = 'needs_review' and v_attempt.outcome = 'transient_error'
             then private.fence_unresolved_message() || ' (' || coalesce(v_attempt.message, v_attempt.error_code) || ')'
           when v_too_many_parks
             then format('Parked %s times (waiting for its %s); our team checks the site.',
                         private.max_parks(), v_attempt.wait_kind)
           else v_attempt.message end,
         listing_url = coalesce(v_attempt.listing_url, d.listing_url),
         action_required = case when v_next = 'needs_action' then v_attempt.action_required end,
         submitted_at = case when v_next = 'submitted' then now() else d.submitted_at end,
         phase = case when v_attempt.outcome = 'parked' then v_attempt.resume_phase else d.phase end,
         wait_kind = case when v_next = 'waiting' then v_attempt.wait_kind end,
         wait_until = case when v_next = 'waiting'
                           then now() + make_interval(secs => v_attempt.wait_seconds) end,
         -- A new wait waits for a new mail: the one that woke the last wait is spent.
         wake_mail_id = case when v_next = 'waiting' then null else d.wake_mail_id end
   where d.job_id = v_dir.job_id and d.directory_id = v_dir.directory_id
  returning d.* into v_dir;

  -- The email may already be here (see private.inbound_emails_match_parked): then the
  -- directory is due at once.
  if v_next = 'waiting' and v_attempt.wait_kind = 'email' then
    v_mail := private.inbound_emails_match_parked(v_dir.job_id, v_dir.directory_id);
    if v_mail is not null then
      update public.job_directories d set wake_mail_id = v_mail
       where d.job_id = v_dir.job_id and d.directory_id = v_dir.directory_id
      returning d.* into v_dir;
    end if;
  end if;

  perform private.audit('worker:' || v_job.worker_id, 'directory.attempt_reported', v_job.id,
    v_dir.directory_id, v_from::text, v_next::text,
    jsonb_strip_nulls(jsonb_build_object('attempt', v_attempt.attempt,
      'outcome', v_attempt.outcome, 'error_code', v_attempt.error_code,
      'fenced', case when v_fenced then true end, 'wake_mail_id', v_mail,
      'wait_kind', v_dir.wait_kind, 'wait_until', v_dir.wait_until, 'phase',
      case when v_attempt.outcome = 'parked' then v_dir.phase end,
      'too_many_parks', case when v_too_many_parks then true end)));
  return v_dir;
end;
$$;
revoke execute on function public.jobs_report_attempt(uuid, uuid, jsonb)
  from public, anon, authenticated;
grant execute on function public.jobs_report_attempt(uuid, uuid, jsonb) to service_role;

-- As 20261206000220, and: a directory past its submit is held for review, not skipped.
create or replace function public.jobs_cancel(job_id uuid, actor text, reason text default null)
returns public.jobs
language plpgsql security definer set search_path = ''
as $$
declare
  v_job public.jobs;
  v_from public.job_status;
  v_reason text := private.check_staff_reason(jobs_cancel.reason);
begin
  perform private.check_actor(jobs_cancel.actor);
  v_job := private.job_for_update(jobs_cancel.job_id);
  v_from := v_job.status;
  if v_from in ('complete', 'failed', 'cancelled') then
    raise exception 'job % is already %', v_job.id, v_from using errcode = 'DB002';
  end if;
  perform private.hold_fenced_directories(v_job.id, jobs_cancel.actor, 'cancelled');
  perform private.hold_past_submit(v_job.id, jobs_cancel.actor, 'cancelled');
  perform private.move_directories(v_job.id, '{queued,in_progress,waiting}', 'skipped',
    jobs_cancel.actor, 'directory.cancelled', 'job cancelled');
  update public.jobs j
     set status = 'cancelled', lease_token = null, lease_expires_at = null, worker_id = null,
         wake_at = null, staff_reason = v_reason
   where j.id = v_job.id
  returning j.* into v_job;
  perform private.audit(jobs_cancel.actor, 'job.cancelled', v_job.id, null, v_from::text,
    'cancelled', jsonb_strip_nulls(jsonb_build_object('reason', v_reason)));
  return v_job;
end;
$$;
