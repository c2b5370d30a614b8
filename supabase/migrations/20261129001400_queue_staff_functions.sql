-- Why: staff monitor and intervene (seed §6): retry failed directories, pause, resume,
-- cancel. They never start or push a job. Each call names its actor for the audit trail
-- and refuses a job that is not in a state the action makes sense for.

create function private.check_actor(actor text) returns void
language plpgsql immutable set search_path = ''
as $$
begin
  perform private.check_argument(btrim(coalesce(actor, '')) <> '', 'actor is required');
end;
$$;

create function private.job_for_update(job_id uuid) returns public.jobs
language plpgsql set search_path = ''
as $$
declare
  v_job public.jobs;
begin
  select j.* into v_job from public.jobs j where j.id = job_for_update.job_id for update;
  if not found then
    raise exception 'job % not found', job_for_update.job_id using errcode = 'DB003';
  end if;
  return v_job;
end;
$$;

-- Failed directories (all of them, or the named ones) go back to queued with a fresh
-- budget of attempts. A complete or failed job goes back to pending so a worker picks the
-- directories up; an in-progress job keeps its lease (its worker must re-claim to see them,
-- since jobs_complete refuses while directories are queued).
create function public.jobs_retry(job_id uuid, directory_ids text[] default null, actor text default null)
returns int
language plpgsql security definer set search_path = ''
as $$
declare
  v_job public.jobs;
  v_not_failed text;
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
      into v_not_failed
      from unnest(jobs_retry.directory_ids) as wanted(id)
      left join public.job_directories d on d.job_id = v_job.id and d.directory_id = wanted.id
     where d.status is distinct from 'failed';
    if v_not_failed is not null then
      raise exception 'only failed directories can be retried; job % has: %', v_job.id, v_not_failed
        using errcode = 'DB002';
    end if;
  end if;

  with retried as (
    update public.job_directories d
       set status = 'queued', max_attempts = d.attempts + 3
     where d.job_id = v_job.id and d.status = 'failed'
       and (jobs_retry.directory_ids is null or d.directory_id = any (jobs_retry.directory_ids))
    returning d.directory_id
  ), audited as (
    insert into public.audit_log (actor, action, job_id, directory_id, from_status, to_status)
    select jobs_retry.actor, 'directory.retried', v_job.id, r.directory_id, 'failed', 'queued'
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

-- Pausing takes the lease away: the worker's next call is refused, and it also hears
-- 'paused' on job:<id> and stops before the next directory.
create function public.jobs_pause(job_id uuid, actor text) returns public.jobs
language plpgsql security definer set search_path = ''
as $$
declare
  v_job public.jobs;
  v_from public.job_status;
begin
  perform private.check_actor(jobs_pause.actor);
  v_job := private.job_for_update(jobs_pause.job_id);
  v_from := v_job.status;
  if v_from not in ('pending', 'in_progress') then
    raise exception 'job % is %; only a pending or in-progress job can be paused', v_job.id, v_from
      using errcode = 'DB002';
  end if;
  perform private.move_directories(v_job.id, '{in_progress}', 'queued', jobs_pause.actor,
    'directory.paused');
  update public.jobs j
     set status = 'paused', lease_token = null, lease_expires_at = null, worker_id = null
   where j.id = v_job.id
  returning j.* into v_job;
  perform private.audit(jobs_pause.actor, 'job.paused', v_job.id, null, v_from::text, 'paused', '{}');
  return v_job;
end;
$$;
revoke execute on function public.jobs_pause(uuid, text) from public;
grant execute on function public.jobs_pause(uuid, text) to service_role;

create function public.jobs_resume(job_id uuid, actor text) returns public.jobs
language plpgsql security definer set search_path = ''
as $$
declare
  v_job public.jobs;
begin
  perform private.check_actor(jobs_resume.actor);
  v_job := private.job_for_update(jobs_resume.job_id);
  if v_job.status <> 'paused' then
    raise exception 'job % is %; only a paused job can be resumed', v_job.id, v_job.status
      using errcode = 'DB002';
  end if;
  update public.jobs j set status = 'pending' where j.id = v_job.id returning j.* into v_job;
  perform private.audit(jobs_resume.actor, 'job.resumed', v_job.id, null, 'paused', 'pending', '{}');
  return v_job;
end;
$$;
revoke execute on function public.jobs_resume(uuid, text) from public;
grant execute on function public.jobs_resume(uuid, text) to service_role;

-- Directories not yet attempted to completion are marked skipped, so the record says
-- plainly that they were never submitted.
create function public.jobs_cancel(job_id uuid, actor text) returns public.jobs
language plpgsql security definer set search_path = ''
as $$
declare
  v_job public.jobs;
  v_from public.job_status;
begin
  perform private.check_actor(jobs_cancel.actor);
  v_job := private.job_for_update(jobs_cancel.job_id);
  v_from := v_job.status;
  if v_from in ('complete', 'failed', 'cancelled') then
    raise exception 'job % is already %', v_job.id, v_from using errcode = 'DB002';
  end if;
  perform private.move_directories(v_job.id, '{queued,in_progress}', 'skipped', jobs_cancel.actor,
    'directory.cancelled', 'job cancelled');
  update public.jobs j
     set status = 'cancelled', lease_token = null, lease_expires_at = null, worker_id = null
   where j.id = v_job.id
  returning j.* into v_job;
  perform private.audit(jobs_cancel.actor, 'job.cancelled', v_job.id, null, v_from::text,
    'cancelled', '{}');
  return v_job;
end;
$$;
revoke execute on function public.jobs_cancel(uuid, text) from public;
grant execute on function public.jobs_cancel(uuid, text) to service_role;

-- One read for /healthz, /metrics and the dashboard. Rates are over the last hour.
create function public.queue_stats() returns jsonb
language sql stable security definer set search_path = ''
as $$
  with attempts as (
    select r.attempt, r.outcome, r.error_code, r.captcha_kind, r.captcha_solved
      from public.job_results r
     where r.reported_at > now() - interval '1 hour'
  )
  select jsonb_build_object(
    'jobs', (
      select jsonb_object_agg(s.status, coalesce(c.n, 0))
        from unnest(enum_range(null::public.job_status)) as s(status)
        left join (select j.status, count(*) as n from public.jobs j group by j.status) c
          on c.status = s.status
    ),
    'directories', (
      select jsonb_object_agg(s.status, coalesce(c.n, 0))
        from unnest(enum_range(null::public.job_directory_status)) as s(status)
        left join (
          select d.status, count(*) as n from public.job_directories d
            join public.jobs j on j.id = d.job_id
           where j.status in ('pending', 'in_progress', 'paused')
           group by d.status
        ) c on c.status = s.status
    ),
    'tiers', (
      select jsonb_object_agg(t.name, jsonb_build_object('running', t.running,
               'max_running', t.max_running, 'effective_max_running', t.effective_max_running,
               'throttled', t.throttled_max_running is not null))
        from public.tiers t
    ),
    'oldest_pending_seconds', (
      select coalesce(extract(epoch from now() - min(j.created_at)), 0)::bigint
        from public.jobs j where j.status = 'pending'
    ),
    'active_workers', (
      select count(*) from public.workers w where w.last_seen_at > now() - interval '2 minutes'
    ),
    'completed_last_hour', (
      select count(*) from public.jobs j where j.completed_at > now() - interval '1 hour'
    ),
    'attempts_last_hour', (select count(*) from attempts),
    'retry_rate', (
      select coalesce(round(count(*) filter (where a.attempt > 1)::numeric / nullif(count(*), 0), 4), 0)
        from attempts a
    ),
    'captchas_solved_last_hour', (select count(*) from attempts a where a.captcha_solved),
    'captchas_failed_last_hour', (
      select count(*) from attempts a where a.captcha_kind is not null and not a.captcha_solved
    ),
    'proxy_failures_last_hour', (
      select count(*) from attempts a where a.error_code = 'proxy_error'
    )
  )
$$;
revoke execute on function public.queue_stats() from public;
grant execute on function public.queue_stats() to service_role;

-- A submitted listing was found live on the directory (by staff or a later verification
-- pass): the proof the customer paid for.
create function public.jobs_confirm_live(job_id uuid, directory_id text, listing_url text, actor text)
returns public.job_directories
language plpgsql security definer set search_path = ''
as $$
declare
  v_dir public.job_directories;
begin
  perform private.check_actor(jobs_confirm_live.actor);
  perform private.check_argument(coalesce(jobs_confirm_live.listing_url, '') ~ '^https?://',
    'listing_url must be an http(s) URL');
  select d.* into v_dir from public.job_directories d
   where d.job_id = jobs_confirm_live.job_id and d.directory_id = jobs_confirm_live.directory_id
   for update;
  if not found then
    raise exception 'directory % is not part of job %', jobs_confirm_live.directory_id,
      jobs_confirm_live.job_id using errcode = 'DB003';
  end if;
  if v_dir.status <> 'submitted' then
    raise exception 'directory % of job % is %; only a submitted listing can go live',
      v_dir.directory_id, v_dir.job_id, v_dir.status using errcode = 'DB002';
  end if;
  update public.job_directories d
     set status = 'live', listing_url = jobs_confirm_live.listing_url
   where d.job_id = v_dir.job_id and d.directory_id = v_dir.directory_id
  returning d.* into v_dir;
  perform private.audit(jobs_confirm_live.actor, 'directory.live', v_dir.job_id, v_dir.directory_id,
    'submitted', 'live', jsonb_build_object('listing_url', v_dir.listing_url));
  return v_dir;
end;
$$;
revoke execute on function public.jobs_confirm_live(uuid, text, text, text) from public;
grant execute on function public.jobs_confirm_live(uuid, text, text, text) to service_role;
