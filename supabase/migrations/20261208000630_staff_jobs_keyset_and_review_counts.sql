-- Why: the staff overview cost 9x and the staff jobs list 11x a nearly empty database's at
-- 1/100 of a year (bench/scale, issue 16).
-- * The jobs list counted every matching job (`count(*) over ()`) to print "page N of M" and
--   paged by offset. It now pages by a keyset cursor (created_at, id), newest first, on the
--   index of 20261208000600. Exact counts come from the jobs counters of 20261208000130
--   (staff_job_counts_by_status), only where they are exact: per status.
-- * The review count filtered job_directories by status under RLS; an enum comparison is not
--   leakproof, so RLS kept it out of the index and every directory of the year was read.
--   staff_review_counts() counts through the partial review index instead.
-- * "A directory skipped because its job was cancelled counts as `cancelled`" was written
--   three times (the drill-down's count by state and page, and the jobs list); it is now
--   defined once, in private.job_directory_states, which finds a cancel's audit row through the
--   partial index of 20261208000610.

-- Each directory's state as staff read it: its status, except that a directory skipped by its
-- job's cancel (audited as directory.cancelled) is `cancelled`. Security invoker: the reader's
-- RLS on job_directories and audit_log applies.
create view private.job_directory_states with (security_invoker = true) as
select d.job_id, d.directory_id,
       case when d.status = 'skipped' and exists (
              select 1 from public.audit_log a
               where a.job_id = d.job_id and a.directory_id = d.directory_id
                 and a.action = 'directory.cancelled')
            then 'cancelled' else d.status::text end as state
  from public.job_directories d;
comment on view private.job_directory_states is
  'A directory''s state for staff: its status, or cancelled when its job''s cancel skipped it. '
  'The one definition the drill-down and the jobs list share.';
revoke all on private.job_directory_states from public, anon, authenticated, service_role;
grant select on private.job_directory_states to dbolt_staff, service_role;

-- How many jobs are in each status, from the counters kept by the status changes themselves
-- (exact, in the caller's snapshot of the counters), for staff under their JWT. The
-- orchestrator's staff API (service role) reads the same counters through queue_stats().
create function public.staff_job_counts_by_status() returns table (status public.job_status, jobs bigint)
language plpgsql stable security definer set search_path = ''
as $$
begin
  perform private.require_staff();
  return query
  select s.status, coalesce(sum(m.value), 0)::bigint
    from unnest(enum_range(null::public.job_status)) as s(status)
    left join private.metrics_counters m on m.name = 'jobs.' || s.status::text
   group by s.status
   order by s.status;
end;
$$;
revoke execute on function public.staff_job_counts_by_status() from public, anon;
grant execute on function public.staff_job_counts_by_status() to authenticated;

-- The overview's review count: what waits for staff, and what waits for customers.
create function public.staff_review_counts(out needs_review bigint, out needs_action bigint)
language plpgsql stable security definer set search_path = ''
as $$
begin
  perform private.require_staff();
  select count(*) filter (where d.status = 'needs_review'),
         count(*) filter (where d.status = 'needs_action')
    into needs_review, needs_action
    from public.job_directories d
   where d.status in ('needs_review', 'needs_action');
end;
$$;
revoke execute on function public.staff_review_counts() from public, anon;
grant execute on function public.staff_review_counts() to authenticated;
