-- Why: two gaps in jobs_retry (latest: 20261206000220).
--   1. Exactly once: a retried directory at phase confirm was submitted already (see
--      20261206000910); clearing its phase sent the next attempt back to lookup and sign-up,
--      and it submitted again. Its phase is kept, so it resumes at the confirm page.
--   2. The reaper fails a job that lost too many leases even when some of its directories
--      are parked (waiting): nothing wakes a failed job, and the retry refused it ("no failed
--      directories to retry"). Parked directories are now work a retry reopens, like queued
--      ones, and a reopened job takes the state jobs_complete would give it
--      (private.job_idle_state): pending when work is due, waiting until its earliest parked
--      directory's time otherwise. The reaper's failed edge itself is unchanged: a job that
--      lost its lease that often wants a person's look before it runs again.

create or replace function public.jobs_retry(job_id uuid, directory_ids text[] default null, actor text default null)
returns int
language plpgsql security definer set search_path = ''
as $$
declare
  v_job public.jobs;
  v_not_retryable text;
  v_retried int;
  v_idle record;
begin
  perform private.check_actor(jobs_retry.actor);
  perform private.check_argument(
    jobs_retry.directory_ids is null or cardinality(jobs_retry.directory_ids) > 0,
    'directory_ids must name at least one directory, or be null for all failed ones');
  v_job := private.job_for_update(jobs_retry.job_id);
  if v_job.status = 'cancelled' then
    raise exception 'job % is cancelled and cannot be retried', v_job.id using errcode = 'DB002';
  end if;

  if jobs_retry.directory_ids is not null then
    select string_agg(format('%s (%s)', wanted.id, coalesce(d.status::text, 'not in this job')), ', ')
      into v_not_retryable
      from unnest(jobs_retry.directory_ids) as wanted(id)
      left join public.job_directories d on d.job_id = v_job.id and d.directory_id = wanted.id
     where d.status is null or d.status not in ('failed', 'needs_review', 'needs_action');
    if v_not_retryable is not null then
      raise exception 'only failed directories or ones needing review or action can be retried; job % has: %',
        v_job.id, v_not_retryable using errcode = 'DB002';
    end if;
  end if;

  with target as (
    select d.directory_id, d.status
      from public.job_directories d
     where d.job_id = v_job.id
       -- Unnamed, only what a retry can help: not a directory another one replaced (the
       -- replacement holds its place), nor one staff settled as failed after checking it.
       and case when jobs_retry.directory_ids is null
                then d.status = 'failed' and d.replaced_by is null
                     and d.last_error_code is distinct from 'review_failed'
                else d.directory_id = any (jobs_retry.directory_ids)
                     and d.status in ('failed', 'needs_review', 'needs_action') end
       for update
  ), retried as (
    update public.job_directories d
       -- Past its submit, a directory resumes at the confirm page (20261206000910).
       set status = 'queued', max_attempts = d.attempts + 3,
           phase = case when d.phase = 'confirm' then d.phase end, wake_mail_id = null
      from target t
     where d.job_id = v_job.id and d.directory_id = t.directory_id
    returning d.directory_id, t.status as from_status
  ), audited as (
    insert into public.audit_log (actor, action, job_id, directory_id, from_status, to_status)
    select jobs_retry.actor, 'directory.retried', v_job.id, r.directory_id, r.from_status::text, 'queued'
      from retried r
    returning 1
  )
  select count(*) into v_retried from audited;

  -- A job failed for losing too many leases may have nothing failed, only queued or parked
  -- work left: the retry reopens it for that work.
  if v_retried = 0 and not (v_job.status = 'failed' and exists (
       select 1 from public.job_directories d
        where d.job_id = v_job.id and d.status in ('queued', 'waiting'))) then
    raise exception 'job % has no failed directories to retry', v_job.id using errcode = 'DB002';
  end if;

  if v_job.status in ('complete', 'failed') then
    -- Reopened as jobs_complete leaves a job: pending when there is work now, waiting until
    -- its earliest parked directory's time when all it has is parked.
    select * into v_idle from private.job_idle_state(v_job.id);
    update public.jobs j
       set status = v_idle.status, wake_at = v_idle.wake_at, completed_at = null, lost_leases = 0
     where j.id = v_job.id;
    perform private.audit(jobs_retry.actor, 'job.retried', v_job.id, null, v_job.status::text,
      v_idle.status::text, jsonb_strip_nulls(jsonb_build_object('directories', v_retried,
        'wake_at', v_idle.wake_at)));
  elsif v_job.status = 'waiting' then
    perform private.jobs_wake(v_job.id, jobs_retry.actor, 'staff retry');
  end if;
  return v_retried;
end;
$$;
