-- Why: exactly one accepted submission per directory, even across pause, crash and lost
-- leases (issue 13). Three things were missing:
--   1. A `submitting` fence. The worker records, under its lease, that the final submit of an
--      attempt is about to be sent (jobs_fence_submit). A fence refused means: do not click.
--   2. Late reports are facts. A report that arrives after its lease was lost (pause, cancel,
--      reap, release) used to be refused (DB001) and the site's answer lost; a staff pause
--      while a submit was in flight then re-queued the directory and a second listing was
--      made. Now the report is recorded in job_results (marked `late`) if its lease token is
--      one the job really held (private.job_leases: a worker token alone cannot write
--      results for a job it never leased), applied if the directory is still where that
--      outcome applies, and flagged for staff if another attempt has since taken it over.
--   3. A directory whose fence was set but whose outcome never arrived (the lease was lost:
--      pause, release, reap, cancel, crash) is not re-queued blindly: it becomes
--      needs_review, saying the submit may have gone through.
-- Correctness stays here: the fence, the lease proof and the hand-over rules are checked in
-- the statements that change the rows, and every change writes an audit_log row.

-- Every lease a job was ever given, so a late report can prove it belonged to the job.
create table private.job_leases (
  lease_token uuid primary key,
  job_id uuid not null references public.jobs (id),
  worker_id text not null,
  granted_at timestamptz not null default now()
);
comment on table private.job_leases is
  'Every lease token a job held, with its worker: the proof a late attempt report must carry (a worker token alone cannot report for a job it never leased).';
create index job_leases_job_idx on private.job_leases (job_id);

create function private.jobs_remember_lease() returns trigger
language plpgsql set search_path = ''
as $$
begin
  insert into private.job_leases (lease_token, job_id, worker_id)
  values (new.lease_token, new.id, new.worker_id)
  on conflict (lease_token) do nothing;
  return null;
end;
$$;
revoke execute on function private.jobs_remember_lease() from public, anon, authenticated;
create trigger jobs_remember_lease after insert or update of lease_token on public.jobs
  for each row when (new.lease_token is not null)
  execute function private.jobs_remember_lease();

insert into private.job_leases (lease_token, job_id, worker_id)
select j.lease_token, j.id, j.worker_id from public.jobs j where j.lease_token is not null
on conflict do nothing;

-- The fence: one row per attempt that reached its final submit.
create table private.submit_fences (
  job_id uuid not null,
  directory_id text not null,
  attempt int not null check (attempt > 0),
  lease_token uuid not null references private.job_leases (lease_token),
  worker_id text not null,
  fenced_at timestamptz not null default now(),
  primary key (job_id, directory_id, attempt),
  foreign key (job_id, directory_id) references public.job_directories (job_id, directory_id)
);
comment on table private.submit_fences is
  'The attempts whose final submit was about to be sent (the `submitting` fence). An attempt fenced but never reported may have made a listing: it is never re-queued blindly.';

-- Late rows: an attempt reported after its lease was lost. Several attempts may now carry
-- the same number (the lost one and the one the directory was handed to), so the number is
-- unique among on-time rows, and a lease reports at most one late row per directory.
alter table public.job_results
  add column lease_token uuid,
  add column late boolean not null default false;
comment on column public.job_results.late is
  'Reported after its lease was lost (pause, cancel, reap, release): a fact kept, applied only if no other attempt took the directory over.';
alter table public.job_results drop constraint job_results_job_id_directory_id_attempt_key;
create unique index job_results_one_row_per_attempt
  on public.job_results (job_id, directory_id, attempt) where not late;
create unique index job_results_one_late_row_per_lease
  on public.job_results (job_id, directory_id, lease_token) where late;

-- The words a customer and staff read on a directory whose submit may have gone through.
create function private.fence_unresolved_message() returns text
language sql immutable set search_path = ''
as $$
  select 'The submission was being sent when the work stopped, so it may have gone through. '
      || 'Our team checks the site before anything is submitted again.'
$$;

-- On any loss of a job's lease: in-progress directories whose current attempt was fenced go
-- to needs_review (never re-queued: the submit may have reached the site); the rest then
-- follow the caller's move (queued, or skipped for a cancel).
-- Hook for the next issue: where a directory's recipe can look the business up, that lookup
-- runs first and decides between submitted and queued; until then staff decide.
create function private.hold_fenced_directories(job_id uuid, actor text, action text)
returns int
language sql set search_path = ''
as $$
  with held as (
    update public.job_directories d
       set status = 'needs_review', attempts = f.attempt,
           last_message = private.fence_unresolved_message()
      from private.submit_fences f
     where d.job_id = $1 and d.status = 'in_progress'
       and f.job_id = d.job_id and f.directory_id = d.directory_id and f.attempt = d.attempts + 1
    returning d.directory_id, f.attempt, f.worker_id
  ), audited as (
    insert into public.audit_log (actor, action, job_id, directory_id, from_status, to_status, details)
    select $2, 'directory.fence_unresolved', $1, h.directory_id, 'in_progress', 'needs_review',
           jsonb_build_object('attempt', h.attempt, 'worker_id', h.worker_id, 'cause', $3)
      from held h
    returning 1
  )
  select count(*)::int from audited
$$;
revoke execute on function private.hold_fenced_directories(uuid, text, text)
  from public, anon, authenticated;

-- Called by the worker right before the click that sends the form. Refused (DB001) when the
-- lease is lost, (DB002) when the directory is no longer being attempted: the worker must
-- then not submit. A resend of the same fence is acknowledged.
create function public.jobs_fence_submit(job_id uuid, lease_token uuid, directory_id text, attempt int)
returns public.job_directories
language plpgsql security definer set search_path = ''
as $$
declare
  v_job public.jobs;
  v_dir public.job_directories;
  v_fence private.submit_fences;
begin
  perform private.check_argument(jobs_fence_submit.attempt is not null and jobs_fence_submit.attempt > 0,
    'attempt must be a positive number');
  v_job := private.leased_job(jobs_fence_submit.job_id, jobs_fence_submit.lease_token);
  select d.* into v_dir from public.job_directories d
   where d.job_id = v_job.id and d.directory_id = jobs_fence_submit.directory_id
   for update;
  if not found then
    raise exception 'directory % is not part of job %', jobs_fence_submit.directory_id, v_job.id
      using errcode = 'DB003';
  end if;
  select f.* into v_fence from private.submit_fences f
   where f.job_id = v_job.id and f.directory_id = v_dir.directory_id
     and f.attempt = jobs_fence_submit.attempt;
  if found and v_fence.lease_token = jobs_fence_submit.lease_token and v_dir.status = 'in_progress' then
    return v_dir;
  end if;
  if v_dir.status <> 'in_progress' then
    raise exception 'directory % of job % is %, not in progress: do not submit', v_dir.directory_id,
      v_job.id, v_dir.status using errcode = 'DB002';
  end if;
  perform private.check_argument(jobs_fence_submit.attempt = v_dir.attempts + 1,
    format('attempt must be %s for directory %s (got %s)', v_dir.attempts + 1, v_dir.directory_id,
      jobs_fence_submit.attempt));
  if v_fence.job_id is not null then
    raise exception 'attempt % of directory % in job % was fenced under another lease',
      jobs_fence_submit.attempt, v_dir.directory_id, v_job.id using errcode = 'DB002';
  end if;
  insert into private.submit_fences (job_id, directory_id, attempt, lease_token, worker_id)
  values (v_job.id, v_dir.directory_id, jobs_fence_submit.attempt, jobs_fence_submit.lease_token,
          v_job.worker_id);
  perform private.audit('worker:' || v_job.worker_id, 'directory.submitting', v_job.id,
    v_dir.directory_id, 'in_progress', 'in_progress',
    jsonb_build_object('attempt', jobs_fence_submit.attempt));
  return v_dir;
end;
$$;
revoke execute on function public.jobs_fence_submit(uuid, uuid, text, int) from public, anon, authenticated;
grant execute on function public.jobs_fence_submit(uuid, uuid, text, int) to service_role;

-- The directory state an outcome leads to (null: the outcome changes nothing by itself).
create function private.status_after(
  attempt public.job_results, max_attempts int, fenced boolean
) returns public.job_directory_status
language sql immutable set search_path = ''
as $$
  select case $1.outcome
    when 'success' then case when $1.confirmed then 'submitted' else 'needs_review' end
    when 'needs_action' then 'needs_action'
    when 'permanent_error' then 'failed'
    when 'skipped' then 'skipped'
    -- A transient error after the fence with no answer from the site (a timeout, a broken
    -- connection) may hide a listing that was made: not retried blindly. A site that
    -- answered with a refusal (rate limited, temporarily unavailable, captcha rejected)
    -- did not take the business, so that attempt is retried as usual.
    when 'transient_error' then
      case when $3 and $1.error_code not in ('rate_limited', 'site_unavailable', 'captcha_unsolved')
           then 'needs_review'
           when $1.attempt >= $2 then 'failed' else 'queued' end
  end::public.job_directory_status
$$;

-- Server-set columns now include the lease and lateness: a worker cannot claim either.
create or replace function private.attempt_from_report(report jsonb) returns public.job_results
language plpgsql stable set search_path = ''
as $$
declare
  v_attempt public.job_results;
  v_field text;
begin
  perform private.check_argument(jsonb_typeof(report) = 'object', 'report must be a JSON object');
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
  perform private.check_argument(v_field is null, format('%s is not a field of a report', v_field));

  perform private.check_argument(v_attempt.directory_id is not null, 'directory_id is required');
  perform private.check_argument(v_attempt.attempt is not null, 'attempt is required');
  perform private.check_argument(v_attempt.outcome is not null, 'outcome is required');
  perform private.check_argument(
    v_attempt.outcome = 'success' or not coalesce(v_attempt.confirmed, false),
    'confirmed can only be true when outcome is success');
  perform private.check_argument(
    v_attempt.outcome not in ('transient_error', 'permanent_error')
      or btrim(coalesce(v_attempt.error_code, '')) <> '',
    'error_code is required when outcome is ' || v_attempt.outcome);
  perform private.check_argument(
    v_attempt.outcome <> 'needs_action' or btrim(coalesce(v_attempt.action_required, '')) <> '',
    'action_required is required when outcome is needs_action');
  v_attempt.confirmed := coalesce(v_attempt.confirmed, false);
  v_attempt.artifacts := coalesce(v_attempt.artifacts, '{}');
  return v_attempt;
end;
$$;
revoke execute on function private.attempt_from_report(jsonb) from public, anon, authenticated;

-- A report that is not on time (its lease is lost, or another attempt moved the directory
-- on): recorded as a late fact, applied where the directory is still waiting for it, and
-- flagged for staff where another attempt took the directory over.
create function private.record_late_report(
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
    lease_token, late
  ) values (
    v_dir.job_id, v_dir.directory_id, attempt.attempt, attempt.outcome, attempt.confirmed,
    attempt.error_code, attempt.message, attempt.listing_url, attempt.action_required,
    attempt.duration_ms, attempt.captcha_kind, attempt.captcha_solved, attempt.proxy,
    attempt.artifacts, lease.worker_id, lease.lease_token, true
  );

  v_next := private.status_after(attempt, greatest(v_dir.max_attempts, attempt.attempt + 1), v_fenced);
  if not v_handed then
    -- Where the outcome still applies: a directory waiting again (queued, or held for
    -- review after a lost fence) takes it; one skipped by a cancel takes only a listing that
    -- was made. A transient error changes nothing the queue does not already do.
    v_applies := attempt.outcome <> 'transient_error' and case v_dir.status
      when 'queued' then true
      when 'needs_review' then true
      when 'skipped' then attempt.outcome = 'success'
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
  elsif attempt.outcome in ('success', 'needs_action') or v_fenced then
    -- Two attempts may both have reached the site: keep both, stop further attempts and let
    -- staff check for a duplicate. A submitted directory stays submitted (never left except
    -- to live); the alert carries the flag then.
    if v_dir.status not in ('submitted', 'live') then
      update public.job_directories d
         set status = 'needs_review',
             last_message = 'Two attempts may both have reached the site; our team checks for a duplicate listing.'
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
revoke execute on function private.record_late_report(public.jobs, public.job_directories,
  public.job_results, private.job_leases) from public, anon, authenticated;

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
begin
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
  if v_dir.status not in ('queued', 'in_progress') then
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

  v_fenced := exists (
    select 1 from private.submit_fences f
     where f.job_id = v_dir.job_id and f.directory_id = v_dir.directory_id
       and f.attempt = v_attempt.attempt);
  v_next := private.status_after(v_attempt, v_dir.max_attempts, v_fenced);

  insert into public.job_results (
    job_id, directory_id, attempt, outcome, confirmed, error_code, message, listing_url,
    action_required, duration_ms, captcha_kind, captcha_solved, proxy, artifacts, worker_id,
    lease_token
  ) values (
    v_job.id, v_dir.directory_id, v_attempt.attempt, v_attempt.outcome, v_attempt.confirmed,
    v_attempt.error_code, v_attempt.message, v_attempt.listing_url, v_attempt.action_required,
    v_attempt.duration_ms, v_attempt.captcha_kind, v_attempt.captcha_solved, v_attempt.proxy,
    v_attempt.artifacts, v_job.worker_id, v_job.lease_token
  );

  update public.job_directories d
     set status = v_next,
         attempts = v_attempt.attempt,
         last_outcome = v_attempt.outcome,
         last_error_code = v_attempt.error_code,
         last_message = case when v_next = 'needs_review' and v_attempt.outcome = 'transient_error'
                             then private.fence_unresolved_message() || ' (' || coalesce(v_attempt.message, v_attempt.error_code) || ')'
                             else v_attempt.message end,
         listing_url = coalesce(v_attempt.listing_url, d.listing_url),
         action_required = case when v_next = 'needs_action' then v_attempt.action_required end,
         submitted_at = case when v_next = 'submitted' then now() else d.submitted_at end
   where d.job_id = v_dir.job_id and d.directory_id = v_dir.directory_id
  returning d.* into v_dir;

  perform private.audit('worker:' || v_job.worker_id, 'directory.attempt_reported', v_job.id,
    v_dir.directory_id, v_from::text, v_next::text,
    jsonb_strip_nulls(jsonb_build_object('attempt', v_attempt.attempt,
      'outcome', v_attempt.outcome, 'error_code', v_attempt.error_code,
      'fenced', case when v_fenced then true end)));
  return v_dir;
end;
$$;
revoke execute on function public.jobs_report_attempt(uuid, uuid, jsonb)
  from public, anon, authenticated;
grant execute on function public.jobs_report_attempt(uuid, uuid, jsonb) to service_role;

-- The lease-losing transitions hold fenced directories for review before moving the rest.
create or replace function public.jobs_release(job_id uuid, lease_token uuid, reason text default null)
returns public.jobs
language plpgsql security definer set search_path = ''
as $$
declare
  v_job public.jobs;
  v_worker text;
begin
  v_job := private.leased_job(jobs_release.job_id, jobs_release.lease_token);
  v_worker := v_job.worker_id;
  perform private.hold_fenced_directories(v_job.id, 'worker:' || v_worker, 'released');
  perform private.move_directories(v_job.id, '{in_progress}', 'queued', 'worker:' || v_worker,
    'directory.released');
  update public.jobs j
     set status = 'pending', lease_token = null, lease_expires_at = null, worker_id = null
   where j.id = v_job.id
  returning j.* into v_job;
  perform private.worker_seen(v_worker, null, null);
  perform private.audit('worker:' || v_worker, 'job.released', v_job.id, null,
    'in_progress', 'pending', jsonb_strip_nulls(jsonb_build_object('reason', left(jobs_release.reason, 500))));
  return v_job;
end;
$$;

create or replace function public.jobs_reap_expired(max_lost_leases int default 3)
returns table (job_id uuid, status public.job_status, lost_leases int)
language plpgsql security definer set search_path = ''
as $$
declare
  v_reaped record;
begin
  perform private.check_argument(jobs_reap_expired.max_lost_leases > 0,
    'max_lost_leases must be positive');
  for v_reaped in
    with expired as (
      select j.id, j.worker_id from public.jobs j
       where j.status = 'in_progress' and j.lease_expires_at < now()
       order by j.lease_expires_at
         for update skip locked
    )
    -- State and expiry are checked again here, in the statement that changes the row, so a
    -- job completed or heartbeated meanwhile is never clobbered.
    update public.jobs j
       set status = case when j.lost_leases + 1 >= jobs_reap_expired.max_lost_leases
                         then 'failed' else 'pending' end::public.job_status,
           lost_leases = j.lost_leases + 1,
           lease_token = null, lease_expires_at = null, worker_id = null
      from expired e
     where j.id = e.id and j.status = 'in_progress' and j.lease_expires_at < now()
    returning j.id, j.status, j.lost_leases, e.worker_id
  loop
    perform private.hold_fenced_directories(v_reaped.id, 'reaper', 'lease_expired');
    perform private.move_directories(v_reaped.id, '{in_progress}', 'queued', 'reaper',
      'directory.lease_expired');
    perform private.audit('reaper', 'job.lease_expired', v_reaped.id, null, 'in_progress',
      v_reaped.status::text,
      jsonb_build_object('worker_id', v_reaped.worker_id, 'lost_leases', v_reaped.lost_leases));
    job_id := v_reaped.id;
    status := v_reaped.status;
    lost_leases := v_reaped.lost_leases;
    return next;
  end loop;
end;
$$;
