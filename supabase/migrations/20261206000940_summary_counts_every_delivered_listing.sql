-- Why: the job summary's "successes" (the report, the completion email's "n of m accepted")
-- counted only submitted and live. A directory the lookup found listed already with the
-- business's details (already_listed) or whose listing is up with one field wrong
-- (live_mismatch) is delivered too (private.package_counts, 20261206000510): a job that was
-- all already_listed said "0 of 3 accepted". not_live is not delivered and is not counted.

-- As 20261129001200, with the delivered set above.
create or replace function private.job_summary(job_id uuid) returns jsonb
language plpgsql stable set search_path = ''
as $$
declare
  v_directories jsonb;
  v_attempts jsonb;
  v_job public.jobs;
begin
  select jsonb_build_object(
           'directories', coalesce(sum(s.n), 0),
           'by_status', coalesce(jsonb_object_agg(s.status, s.n), '{}'),
           -- Delivered as the package counts it (20261206000510): a listing made or found.
           'successes', coalesce(sum(s.n) filter (where s.status in ('submitted', 'live',
                                                   'already_listed', 'live_mismatch')), 0),
           'failures', coalesce(sum(s.n) filter (where s.status = 'failed'), 0))
    into v_directories
    from (select d.status, count(*) as n from public.job_directories d
           where d.job_id = job_summary.job_id group by d.status) s;
  select jsonb_build_object('attempts', count(*), 'retries', count(*) filter (where r.attempt > 1))
    into v_attempts
    from public.job_results r where r.job_id = job_summary.job_id;
  select j.* into v_job from public.jobs j where j.id = job_summary.job_id;
  return v_directories || v_attempts || jsonb_build_object(
    'started_at', v_job.started_at,
    'completed_at', v_job.completed_at,
    'seconds_to_complete', extract(epoch from v_job.completed_at - v_job.created_at)::bigint);
end;
$$;
