-- Why: the seed's report (§7) asks for the key events of a job and, for a citation service,
-- the listing URLs, besides the counts. jobs_complete freezes only the counts and times in
-- job_reports.summary (whose exact shape other code and tests rely on), so the rest is frozen
-- beside it, in job_reports.details, by a trigger on the same write: whatever writes a report
-- (a first completion, or a new one after a staff retry) writes its details too.
--
-- details = {
--   "created_at", "started_at", "completed_at": the job's clock (created = business saved),
--   "seconds_working": completed_at - started_at (time from the first claim),
--   "listings":   [{directory_id, directory, status, listing_url, submitted_at}] by position,
--                 every directory that has a listing URL,
--   "key_events": [{at, action, by, directory_id, directory, from_status, to_status,
--                   error_code, attempt}] oldest first: the job's own transitions (queued,
--                 claimed, released, lease expired, paused, resumed, retried, cancelled,
--                 completed) and, per directory, what the customer should know (needs action,
--                 needs review, failed, retried by staff, confirmed live). `by` is who acted, as
--                 the customer may see it: customer, worker, staff or system — never the
--                 worker's id or a staff member's name.
-- }

alter table public.job_reports add column details jsonb not null default '{}'
  check (jsonb_typeof(details) = 'object');
comment on column public.job_reports.details is
  'Frozen with the summary at completion: listing URLs and the key events of the job (see migration 20261129002000).';

-- completion_audited: whether the audit log already has this completion (jobs_complete writes
-- the report first and audits after, so the trigger passes false and the event is added here).
create function private.job_report_details(job_id uuid, completion_audited boolean default false)
returns jsonb
language plpgsql stable set search_path = ''
as $$
declare
  v_job public.jobs;
  v_listings jsonb;
  v_events jsonb;
begin
  select j.* into v_job from public.jobs j where j.id = job_report_details.job_id;
  if not found then
    raise exception 'job % not found', job_report_details.job_id using errcode = 'DB003';
  end if;

  select coalesce(jsonb_agg(jsonb_build_object(
           'directory_id', d.directory_id, 'directory', dir.name, 'status', d.status,
           'listing_url', d.listing_url, 'submitted_at', d.submitted_at)
           order by d.position), '[]'::jsonb)
    into v_listings
    from public.job_directories d
    join public.directories dir on dir.id = d.directory_id
   where d.job_id = v_job.id and d.listing_url is not null;

  select coalesce(jsonb_agg(e.event order by e.at, e.seq), '[]'::jsonb)
    into v_events
    from (
      select a.at, a.id as seq, jsonb_strip_nulls(jsonb_build_object(
               'at', a.at, 'action', a.action,
               'by', case when a.actor like 'worker:%' then 'worker'
                          when a.actor like 'user:%' then 'customer'
                          when a.actor in ('system', 'reaper', 'orchestrator') then 'system'
                          else 'staff' end,
               'directory_id', a.directory_id, 'directory', dir.name,
               'from_status', a.from_status, 'to_status', a.to_status,
               'error_code', a.details ->> 'error_code',
               'attempt', (a.details ->> 'attempt')::int)) as event
        from public.audit_log a
        left join public.directories dir on dir.id = a.directory_id
       where a.job_id = v_job.id
         and (
           (a.directory_id is null and a.action in ('job.enqueued', 'job.claimed', 'job.released',
              'job.lease_expired', 'job.paused', 'job.resumed', 'job.retried', 'job.cancelled',
              'job.completed'))
           or (a.action = 'directory.attempt_reported'
               and a.to_status in ('needs_action', 'needs_review', 'failed'))
           or a.action in ('directory.retried', 'directory.live')
         )
      union all
      select v_job.completed_at, 9223372036854775807, jsonb_build_object(
               'at', v_job.completed_at, 'action', 'job.completed', 'by', 'worker',
               'from_status', 'in_progress', 'to_status', 'complete')
       where v_job.completed_at is not null and not job_report_details.completion_audited
    ) e;

  return jsonb_build_object(
    'created_at', v_job.created_at,
    'started_at', v_job.started_at,
    'completed_at', v_job.completed_at,
    'seconds_working', extract(epoch from v_job.completed_at - v_job.started_at)::bigint,
    'listings', v_listings,
    'key_events', v_events);
end;
$$;
revoke execute on function private.job_report_details(uuid, boolean) from public;

create function private.job_reports_fill_details() returns trigger
language plpgsql set search_path = ''
as $$
begin
  new.details := private.job_report_details(new.job_id);
  return new;
end;
$$;
revoke execute on function private.job_reports_fill_details() from public;

create trigger job_reports_fill_details before insert or update of summary on public.job_reports
  for each row execute function private.job_reports_fill_details();

-- Reports written before this migration get their details now (their summary is unchanged).
update public.job_reports r set details = private.job_report_details(r.job_id, completion_audited => true);
