-- The report frozen when a job completes (jobs_complete; details by migration 20261129002000).

-- name: job_reports_get_own
-- The customer's report page, under their JWT (held to their own jobs as jobs_get_own is).
select r.job_id, r.summary, r.details, r.created_at
  from job_reports r
  join jobs j on j.id = r.job_id
  join customers c on c.id = j.customer_id
 where r.job_id = %(job_id)s and c.user_id = %(user_id)s;
