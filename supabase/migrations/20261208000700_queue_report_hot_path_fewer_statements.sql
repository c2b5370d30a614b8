-- Why: one claim -> five reports -> complete cost 0.06-0.09x a bare SKIP LOCKED loop
-- (bench/queue, issue 16 item 3), and each report ran ~25 statements inside the database
-- for one attempt: every argument check was a `perform private.check_argument(...)` (a
-- query of its own: thirteen per report), the lease ledger was read even when the job row
-- itself proves the lease, the past-submit fence was called for directories nowhere near
-- it, and the audit row went through private.audit (one more function call and query).
-- Same rules, same errors (DB005 with the same words), same rows written:
--   * checks are plain `if ... then raise` (evaluated in place, no query);
--   * private.job_leases is read only for a report that is not on time (or is handed to
--     record_late_report), the only ones it can prove anything for: an on-time token IS
--     the job's lease, and every lease a job is given is in the ledger (jobs_remember_lease);
--   * private.fence_past_submit is called only in phase confirm (it does nothing otherwise);
--   * the attempt's audit row is inserted directly.
-- Bodies redefined from their latest: attempt_from_report (20261206000200) and
-- jobs_report_attempt (20261206000910).

-- The ledger's proof of a lease that is no longer the job's: the row, or lease lost (DB001).
create function private.job_lease(job_id uuid, lease_token uuid) returns private.job_leases
language plpgsql stable set search_path = ''
as $$
declare
  v_lease private.job_leases;
begin
  select l.* into v_lease from private.job_leases l
   where l.lease_token = job_lease.lease_token and l.job_id = job_lease.job_id;
  if v_lease.lease_token is null then
    perform private.raise_lease_lost(job_lease.job_id, job_lease.lease_token);
  end if;
  return v_lease;
end;
$$;
revoke execute on function private.job_lease(uuid, uuid) from public, anon, authenticated;

create or replace function private.attempt_from_report(report jsonb) returns public.job_results
language plpgsql stable set search_path = ''
as $$
declare
  v_attempt public.job_results;
  v_field text;
begin
  if not coalesce(jsonb_typeof(report) = 'object', false) then
    raise exception '%', 'report must be a JSON object' using errcode = 'DB005';
  end if;
  begin
    v_attempt := jsonb_populate_record(null::public.job_results, report);
  exception when data_exception then
    -- Find the field that cannot be read as its column's type, so the refusal names it.
    for v_field in select k from jsonb_object_keys(report) k order by k loop
      begin
        perform jsonb_populate_record(null::public.job_results,
          jsonb_build_object(v_field, report -> v_field));
      exception when data_exception then
        raise exception '% is invalid: %', v_field, sqlerrm using errcode = 'DB005';
      end;
    end loop;
    raise;
  end;
  -- A key that is not a column, or is a column the server sets, is refused by name rather
  -- than silently dropped (a misspelt field would otherwise lose data).
  select k into v_field from jsonb_object_keys(report) k
   where not (to_jsonb(v_attempt) ? k)
      or k in ('id', 'job_id', 'worker_id', 'reported_at', 'lease_token', 'late')
   order by k limit 1;
  if v_field is not null then
    raise exception '%', format('%s is not a field of a report', v_field) using errcode = 'DB005';
  end if;

  if v_attempt.directory_id is null then
    raise exception '%', 'directory_id is required' using errcode = 'DB005';
  end if;
  if v_attempt.attempt is null then
    raise exception '%', 'attempt is required' using errcode = 'DB005';
  end if;
  if v_attempt.outcome is null then
    raise exception '%', 'outcome is required' using errcode = 'DB005';
  end if;
  if not coalesce(v_attempt.outcome = 'success' or not coalesce(v_attempt.confirmed, false), false) then
    raise exception '%', 'confirmed can only be true when outcome is success' using errcode = 'DB005';
  end if;
  if not coalesce(v_attempt.outcome not in ('transient_error', 'permanent_error') or btrim(coalesce(v_attempt.error_code, '')) <> '', false) then
    raise exception '%', 'error_code is required when outcome is ' || v_attempt.outcome using errcode = 'DB005';
  end if;
  if not coalesce(v_attempt.outcome <> 'needs_action' or btrim(coalesce(v_attempt.action_required, '')) <> '', false) then
    raise exception '%', 'action_required is required when outcome is needs_action' using errcode = 'DB005';
  end if;
  if not coalesce(v_attempt.outcome <> 'already_listed' or v_attempt.listing_url is not null, false) then
    raise exception '%', 'listing_url is required when outcome is already_listed' using errcode = 'DB005';
  end if;
  if v_attempt.outcome = 'parked' then
    if v_attempt.wait_kind is null then
      raise exception '%', 'wait_kind is required when outcome is parked' using errcode = 'DB005';
    end if;
    if v_attempt.wait_seconds is null then
      raise exception '%', 'wait_seconds is required when outcome is parked' using errcode = 'DB005';
    end if;
    if v_attempt.resume_phase is null then
      raise exception '%', 'resume_phase is required when outcome is parked' using errcode = 'DB005';
    end if;
  else
    select f into v_field from (values (1, 'wait_kind', v_attempt.wait_kind),
        (2, 'wait_seconds', v_attempt.wait_seconds::text),
        (3, 'resume_phase', v_attempt.resume_phase)) w (n, f, v)
     where w.v is not null order by w.n limit 1;
    if v_field is not null then
      raise exception '%', format('%s is only for outcome parked (got %s)', v_field, v_attempt.outcome) using errcode = 'DB005';
    end if;
  end if;
  v_attempt.confirmed := coalesce(v_attempt.confirmed, false);
  v_attempt.artifacts := coalesce(v_attempt.artifacts, '{}');
  return v_attempt;
end;
$$;

revoke execute on function private.attempt_from_report(jsonb) from public, anon, authenticated;

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
  v_on_time := coalesce(v_job.status = 'in_progress'
                        and v_job.lease_token = jobs_report_attempt.lease_token, false);
  -- Proof: the token is a lease this job was given. Without it nothing is written. On time,
  -- the job row itself is the proof (its lease); only an older lease is looked up in the
  -- ledger every lease is remembered in (jobs_remember_lease, 20261205000200).
  if not v_on_time then
    v_lease := private.job_lease(jobs_report_attempt.job_id, jobs_report_attempt.lease_token);
  end if;

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
      v_lease := private.job_lease(jobs_report_attempt.job_id, jobs_report_attempt.lease_token);
      return private.record_late_report(v_job, v_dir, v_attempt, v_lease);
    end if;
    -- Above all: a submitted directory is never submitted (or re-queued) again.
    raise exception 'directory % of job % is % and takes no more attempts', v_dir.directory_id,
      v_job.id, v_dir.status using errcode = 'DB002';
  end if;
  v_from := v_dir.status;
  if not coalesce(v_attempt.attempt = v_dir.attempts + 1, false) then
    raise exception '%', format('attempt must be %s for directory %s (got %s)', v_dir.attempts + 1, v_dir.directory_id, v_attempt.attempt) using errcode = 'DB005';
  end if;

  -- Past its submit (phase confirm): the attempt is fenced as if it had fenced itself, also
  -- when it reports without having announced its start (a due parked directory may).
  if v_dir.phase = 'confirm' then
    perform private.fence_past_submit(v_job, v_dir, v_attempt.attempt);
  end if;
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

  -- The audit row written here, not through private.audit: one statement fewer per report.
  insert into public.audit_log (actor, action, job_id, directory_id, from_status, to_status, details)
  values ('worker:' || v_job.worker_id, 'directory.attempt_reported', v_job.id,
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
