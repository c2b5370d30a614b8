-- Why: a worker that stops (SIGTERM, crash, lost network) must not strand its job. Release
-- is the polite way back to pending; the reaper is the impolite one, and gives up on a job
-- that keeps losing its leases so one poisonous job cannot cycle forever.

-- `reason` (e.g. 'shutdown', 'no healthy proxy') is kept in the audit log for staff.
create function public.jobs_release(job_id uuid, lease_token uuid, reason text default null)
returns public.jobs
language plpgsql security definer set search_path = ''
as $$
declare
  v_job public.jobs;
  v_worker text;
begin
  v_job := private.leased_job(jobs_release.job_id, jobs_release.lease_token);
  v_worker := v_job.worker_id;
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
revoke execute on function public.jobs_release(uuid, uuid, text) from public;
grant execute on function public.jobs_release(uuid, uuid, text) to service_role;

create function public.jobs_reap_expired(max_lost_leases int default 3)
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
revoke execute on function public.jobs_reap_expired(int) from public;
grant execute on function public.jobs_reap_expired(int) to service_role;
