-- Why: a job paused or cancelled by staff told its customer nothing. Staff now give a reason
-- (the orchestrator's staff API requires one), kept on the job and in the audit row, and the
-- customer's job page shows it in plain words while the job is paused or cancelled. The
-- reason is optional here so the system's own callers (a refund cancelling its job) keep
-- working; when given it must be readable and short.
-- Both functions also hold fenced directories for review before moving the rest (see
-- 20261205000200_exactly_once_submit_fence.sql): a pause or cancel while a submit was in
-- flight must not lead to a second submission.

alter table public.jobs
  add column staff_reason text
    constraint jobs_staff_reason_is_short check (char_length(staff_reason) between 1 and 500);
comment on column public.jobs.staff_reason is
  'Why staff last paused or cancelled the job, in words the customer reads on the job page.';
-- The customer's job page reads it (column grants: 20261203000150_data_api_column_grants.sql).
grant select (staff_reason) on public.jobs to authenticated;

create function private.check_staff_reason(reason text) returns text
language plpgsql immutable set search_path = ''
as $$
begin
  if reason is null then
    return null;
  end if;
  perform private.check_argument(btrim(reason) <> '', 'reason must not be blank');
  perform private.check_argument(char_length(btrim(reason)) <= 500,
    'reason must be at most 500 characters');
  return btrim(reason);
end;
$$;

drop function public.jobs_pause(uuid, text);
-- Pausing takes the lease away: the worker's next call is refused, and it also hears
-- 'paused' on job:<id> and stops before the next directory.
create function public.jobs_pause(job_id uuid, actor text, reason text default null)
returns public.jobs
language plpgsql security definer set search_path = ''
as $$
declare
  v_job public.jobs;
  v_from public.job_status;
  v_reason text := private.check_staff_reason(jobs_pause.reason);
begin
  perform private.check_actor(jobs_pause.actor);
  v_job := private.job_for_update(jobs_pause.job_id);
  v_from := v_job.status;
  if v_from not in ('pending', 'in_progress') then
    raise exception 'job % is %; only a pending or in-progress job can be paused', v_job.id, v_from
      using errcode = 'DB002';
  end if;
  perform private.hold_fenced_directories(v_job.id, jobs_pause.actor, 'paused');
  perform private.move_directories(v_job.id, '{in_progress}', 'queued', jobs_pause.actor,
    'directory.paused');
  update public.jobs j
     set status = 'paused', lease_token = null, lease_expires_at = null, worker_id = null,
         staff_reason = v_reason
   where j.id = v_job.id
  returning j.* into v_job;
  perform private.audit(jobs_pause.actor, 'job.paused', v_job.id, null, v_from::text, 'paused',
    jsonb_strip_nulls(jsonb_build_object('reason', v_reason)));
  return v_job;
end;
$$;
revoke execute on function public.jobs_pause(uuid, text, text) from public, anon, authenticated;
grant execute on function public.jobs_pause(uuid, text, text) to service_role;

drop function public.jobs_cancel(uuid, text);
-- Directories not yet attempted to completion are marked skipped, so the record says
-- plainly that they were never submitted.
create function public.jobs_cancel(job_id uuid, actor text, reason text default null)
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
  perform private.move_directories(v_job.id, '{queued,in_progress}', 'skipped', jobs_cancel.actor,
    'directory.cancelled', 'job cancelled');
  update public.jobs j
     set status = 'cancelled', lease_token = null, lease_expires_at = null, worker_id = null,
         staff_reason = v_reason
   where j.id = v_job.id
  returning j.* into v_job;
  perform private.audit(jobs_cancel.actor, 'job.cancelled', v_job.id, null, v_from::text,
    'cancelled', jsonb_strip_nulls(jsonb_build_object('reason', v_reason)));
  return v_job;
end;
$$;
revoke execute on function public.jobs_cancel(uuid, text, text) from public, anon, authenticated;
grant execute on function public.jobs_cancel(uuid, text, text) to service_role;
