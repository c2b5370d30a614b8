-- Why: jobs_retry without names re-queued every failed directory, including ones already
-- replaced (20261205000100: the replacement took their place, so a success would deliver one
-- slot twice and keep both) and ones staff marked failed after checking them (review_failed,
-- 20261205000300: a late answer may still show the listing exists). Both stay as they are
-- unless staff name them. Unchanged otherwise.

create or replace function public.jobs_retry(job_id uuid, directory_ids text[] default null, actor text default null)
returns int
language plpgsql security definer set search_path = ''
as $$
declare
  v_job public.jobs;
  v_not_retryable text;
  v_retried int;
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
       set status = 'queued', max_attempts = d.attempts + 3
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

  -- A job failed for losing too many leases may have nothing failed, only queued work left.
  if v_retried = 0 and not (v_job.status = 'failed' and exists (
       select 1 from public.job_directories d where d.job_id = v_job.id and d.status = 'queued')) then
    raise exception 'job % has no failed directories to retry', v_job.id using errcode = 'DB002';
  end if;

  if v_job.status in ('complete', 'failed') then
    update public.jobs j
       set status = 'pending', completed_at = null, lost_leases = 0
     where j.id = v_job.id;
    perform private.audit(jobs_retry.actor, 'job.retried', v_job.id, null, v_job.status::text,
      'pending', jsonb_build_object('directories', v_retried));
  end if;
  return v_retried;
end;
$$;
revoke execute on function public.jobs_retry(uuid, text[], text) from public;
grant execute on function public.jobs_retry(uuid, text[], text) to service_role;
