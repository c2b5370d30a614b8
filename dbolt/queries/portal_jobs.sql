-- The customer's job page, its live updates and its report (portal/routers/jobs.py,
-- portal/reports/). Every block runs under the customer's JWT (PortalDatabase.as_viewer), so
-- RLS hides other customers' jobs; each also names the viewer's user id, so staff — whom RLS
-- lets read every job — are held to their own jobs on these customer pages, as pc_order does.

-- name: pj_job
select j.id, j.order_id, j.tier, j.status, j.created_at, j.started_at, j.completed_at,
       j.updated_at, j.business_snapshot ->> 'business_name' as business_name,
       exists (select 1 from job_reports r where r.job_id = j.id) as has_report
  from jobs j
  join customers c on c.id = j.customer_id
 where j.id = %(job_id)s and c.user_id = %(user_id)s;

-- name: pj_job_directories
-- Every directory of the job in submission order. A directory disabled since the job was
-- made is still listed (left join), by its id if its name is gone.
select d.directory_id, coalesce(dir.name, d.directory_id) as directory, dir.homepage,
       d.position, d.status, d.attempts, d.max_attempts, d.last_outcome, d.last_error_code,
       d.last_message, d.listing_url, d.action_required, d.submitted_at, d.updated_at
  from job_directories d
  join jobs j on j.id = d.job_id
  join customers c on c.id = j.customer_id
  left join directories dir on dir.id = d.directory_id
 where d.job_id = %(job_id)s and c.user_id = %(user_id)s
 order by d.position;

-- name: pj_job_report
-- The report frozen at completion (jobs_complete; details by migration 20261129002000).
select r.job_id, r.summary, r.details, r.created_at
  from job_reports r
  join jobs j on j.id = r.job_id
  join customers c on c.id = j.customer_id
 where r.job_id = %(job_id)s and c.user_id = %(user_id)s;
