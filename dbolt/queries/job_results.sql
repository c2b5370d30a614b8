-- The attempts workers reported (table job_results), as staff read them.

-- name: job_results_list
-- Every attempt of a job, in the order reported, for staff's drill-down.
select r.id, r.directory_id, r.attempt, r.outcome, r.confirmed, r.error_code, r.message,
       r.listing_url, r.action_required, r.duration_ms, r.captcha_kind, r.captcha_solved,
       r.proxy, r.artifacts, r.worker_id, r.reported_at, r.late
  from job_results r
 where r.job_id = %(job_id)s
 order by r.id;

-- name: job_results_list_for_directories
-- The attempts of some of a job's directories (the drill-down's current page), oldest first.
select r.id, r.directory_id, r.attempt, r.outcome, r.confirmed, r.error_code, r.message,
       r.listing_url, r.action_required, r.duration_ms, r.captcha_kind, r.captcha_solved,
       r.proxy, r.artifacts, r.worker_id, r.reported_at, r.late
  from job_results r
 where r.job_id = %(job_id)s and r.directory_id = any (%(directory_ids)s::text[])
 order by r.id;

-- name: job_results_get_artifacts
-- One attempt's kept screenshot and HTML paths, for the dashboard's artifact links.
select r.id, r.job_id, r.artifacts
  from job_results r
 where r.job_id = %(job_id)s and r.id = %(attempt_id)s;
