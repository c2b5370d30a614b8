-- Why: a directory waiting for its email (or a moderation delay) must not hold the worker or
-- the job's lease for hours (issue 14, item 4), and a lookup that finds the business listed
-- already with its own name, address and phone has delivered without submitting anything
-- (item 2). The worker says so with two outcomes (dbolt.contracts.Outcome):
--   - `parked`: the attempt stopped between phases, its browser session saved first
--     (jobs_save_session, 20261206000210). The report carries wait_kind, wait_seconds and
--     resume_phase; the directory becomes `waiting` with its phase, what it waits for and
--     until when. Waiting is not a failure: the parked attempt is recorded like any other
--     (its number is used, so the next attempt has the next one) but does not spend the
--     customer's attempts — max_attempts grows with it. A directory that keeps parking (20
--     times) goes to staff review instead, so nothing waits for ever.
--   - `already_listed`: the directory becomes `already_listed` with the listing's URL
--     (required). Nothing was submitted, so no fence is involved and submitted_at stays empty.
-- Every AttemptReport field but the lease token is a job_results column of the same name
-- (20261204000200), so the three wait fields are columns too; they are refused on any other
-- outcome, by name.
-- Late reports (the lease was lost) of either outcome are recorded and change nothing: a
-- parked attempt's lease is gone with its session, and an already_listed claim carries no
-- fence, so a stale token could otherwise mark any directory delivered with a URL of its
-- choosing (the rule of 20261205000510 for listings). A later attempt looks again. A fenced
-- parked report (moderation after a submit) that arrives after another attempt took the
-- directory over is flagged for staff like any fenced late report.

alter table public.job_results
  add column wait_kind text check (wait_kind in ('email', 'moderation')),
  add column wait_seconds int check (wait_seconds between 0 and 30 * 24 * 3600),
  add column resume_phase text check (resume_phase in
    ('lookup', 'signup', 'verify_email', 'login', 'submit', 'claim', 'confirm', 'live_check')),
  add constraint job_results_parked_says_how_long check (case
    when outcome = 'parked' then wait_kind is not null and wait_seconds is not null
                                 and resume_phase is not null
    else wait_kind is null and wait_seconds is null and resume_phase is null end);
comment on column public.job_results.wait_seconds is
  'A parked attempt: how long at most the directory waits (its email''s deadline, or the moderation delay).';

alter table public.job_directories
  add constraint job_directories_already_listed_has_url
    check (status <> 'already_listed' or listing_url is not null);

-- Leaving `waiting` by any edge (resumed, re-queued, skipped by a cancel, settled) ends the
-- wait: what it waited for and until when go with it (the check
-- job_directories_waiting_says_for_what), the phase stays (where to resume) and so does the
-- mail that woke it (the next phase reads its link or code).
create function private.job_directories_end_wait() returns trigger
language plpgsql set search_path = ''
as $$
begin
  new.wait_kind := null;
  new.wait_until := null;
  return new;
end;
$$;
revoke execute on function private.job_directories_end_wait() from public, anon, authenticated;
create trigger job_directories_end_wait before update of status on public.job_directories
  for each row when (old.status = 'waiting' and new.status <> 'waiting')
  execute function private.job_directories_end_wait();

-- The report's new outcomes and fields, checked with the field named.
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
  perform private.check_argument(
    v_attempt.outcome <> 'already_listed' or v_attempt.listing_url is not null,
    'listing_url is required when outcome is already_listed');
  if v_attempt.outcome = 'parked' then
    perform private.check_argument(v_attempt.wait_kind is not null,
      'wait_kind is required when outcome is parked');
    perform private.check_argument(v_attempt.wait_seconds is not null,
      'wait_seconds is required when outcome is parked');
    perform private.check_argument(v_attempt.resume_phase is not null,
      'resume_phase is required when outcome is parked');
  else
    select f into v_field from (values (1, 'wait_kind', v_attempt.wait_kind),
        (2, 'wait_seconds', v_attempt.wait_seconds::text),
        (3, 'resume_phase', v_attempt.resume_phase)) w (n, f, v)
     where w.v is not null order by w.n limit 1;
    perform private.check_argument(v_field is null,
      format('%s is only for outcome parked (got %s)', v_field, v_attempt.outcome));
  end if;
  v_attempt.confirmed := coalesce(v_attempt.confirmed, false);
  v_attempt.artifacts := coalesce(v_attempt.artifacts, '{}');
  return v_attempt;
end;
$$;
revoke execute on function private.attempt_from_report(jsonb) from public, anon, authenticated;

-- The directory state an outcome leads to (null: the outcome changes nothing by itself).
create or replace function private.status_after(
  attempt public.job_results, max_attempts int, fenced boolean
) returns public.job_directory_status
language sql immutable set search_path = ''
as $$
  select case $1.outcome
    when 'success' then case when $1.confirmed then 'submitted' else 'needs_review' end
    when 'needs_action' then 'needs_action'
    when 'permanent_error' then 'failed'
    when 'skipped' then 'skipped'
    when 'parked' then 'waiting'
    when 'already_listed' then 'already_listed'
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

-- How often one directory of a job may park before staff look at it instead.
create function private.max_parks() returns int
language sql immutable set search_path = ''
as $$ select 20 $$;
revoke execute on function private.max_parks() from public, anon, authenticated;

-- A parked directory is due (a worker should resume it now) when the email it waited for
-- arrived, or its moderation delay is over. An email wait past its deadline with no mail is
-- not due: jobs_wake_due (20261206000220) times it out instead.
create function private.directory_is_due(dir public.job_directories) returns boolean
language sql stable set search_path = ''
as $$
  select $1.status = 'waiting'
     and ($1.wake_mail_id is not null or ($1.wait_kind = 'moderation' and $1.wait_until <= now()))
$$;
revoke execute on function private.directory_is_due(public.job_directories)
  from public, anon, authenticated;

-- The inbound-mail matcher's hook for a directory that has just parked for its email: a
-- directory's email often arrives within seconds of the sign-up, before the worker has saved
-- the session and reported the wait, when no directory was waiting for it yet. The matcher
-- (the inbound-mail migrations) replaces this with its own rules, matching mail already
-- received for the customer to this directory and returning the mail's id (null: none). This
-- stand-in matches nothing, so such a directory waits for its deadline as before.
create function private.inbound_emails_match_parked(job_id uuid, directory_id text)
returns bigint
language sql stable set search_path = ''
as $$ select null::bigint $$;
revoke execute on function private.inbound_emails_match_parked(uuid, text)
  from public, anon, authenticated;

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

-- Late reports: as 20261205000520, with the wait fields kept in the row, and a late parked or
-- already_listed report recorded only (see the top of this file).
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
    -- staff check for a duplicate. A submitted directory stays submitted (never left except
    -- to live); the alert carries the flag then.
    if v_dir.status not in ('submitted', 'live') then
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
revoke execute on function private.record_late_report(public.jobs, public.job_directories,
  public.job_results, private.job_leases) from public, anon, authenticated;
