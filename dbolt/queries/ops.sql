-- Reads and writes of the orchestrator's operational side: alerts, throttles, workers, jobs
-- for staff.

-- name: alerts_raise
select alerts_raise(kind => %(kind)s, message => %(message)s, details => %(details)s::jsonb) as raised;

-- name: alerts_clear
select alerts_clear(kind => %(kind)s) as cleared;

-- name: alerts_open
select id, kind, message, details, raised_at, acknowledged_at, acknowledged_by
  from alerts where cleared_at is null order by raised_at;

-- name: tiers_throttle
select * from tiers_throttle(tier => %(tier)s, max_running => %(max_running)s, actor => %(actor)s);

-- name: worker_health
-- Healthy: seen within the window. Stale: holding a job but silent past the window.
select count(*) filter (where last_seen_at > now() - make_interval(secs => %(stale_seconds)s)) as healthy,
       count(*) filter (where last_seen_at <= now() - make_interval(secs => %(stale_seconds)s)
                          and current_job_id is not null) as stale
  from workers
 where last_seen_at > now() - interval '1 day';

-- name: alerts_check_directory_failures
select alerts_check_directory_failures() as result;

-- name: ping
select 1 as ok;

-- name: jobs_list
select j.id, j.order_id, j.customer_id, c.email as customer_email, c.business_name, j.tier,
       j.status, j.worker_id, j.lost_leases, j.created_at, j.started_at, j.completed_at,
       (select count(*) from job_directories d where d.job_id = j.id) as directories,
       (select count(*) from job_directories d
         where d.job_id = j.id and d.status not in ('queued', 'in_progress')) as directories_done,
       count(*) over () as total
  from jobs j
  join customers c on c.id = j.customer_id
 where (%(status)s::job_status is null or j.status = %(status)s::job_status)
   and (%(tier)s::text is null or j.tier = %(tier)s::text)
   and (%(customer)s::text is null
        or c.email ilike '%%' || %(customer)s::text || '%%'
        or c.business_name ilike '%%' || %(customer)s::text || '%%')
   and (%(created_after)s::timestamptz is null or j.created_at >= %(created_after)s::timestamptz)
   and (%(created_before)s::timestamptz is null or j.created_at < %(created_before)s::timestamptz)
 order by j.created_at desc, j.id
 limit %(limit)s offset %(offset)s;

-- name: job_get
select j.id, j.order_id, j.customer_id, c.email as customer_email, c.business_name, j.tier,
       j.status, j.worker_id, j.lease_expires_at, j.lost_leases, j.business_snapshot,
       j.created_at, j.started_at, j.completed_at, j.updated_at
  from jobs j join customers c on c.id = j.customer_id
 where j.id = %(job_id)s;

-- name: job_directories_of
select d.directory_id, dir.name, d.position, d.status, d.attempts, d.max_attempts,
       d.last_outcome, d.last_error_code, d.last_message, d.listing_url, d.action_required,
       d.updated_at, d.submitted_at
  from job_directories d join directories dir on dir.id = d.directory_id
 where d.job_id = %(job_id)s
 order by d.position;

-- name: job_attempts_of
select r.id, r.directory_id, r.attempt, r.outcome, r.confirmed, r.error_code, r.message,
       r.listing_url, r.action_required, r.duration_ms, r.captcha_kind, r.captcha_solved,
       r.proxy, r.artifacts, r.worker_id, r.reported_at
  from job_results r
 where r.job_id = %(job_id)s
 order by r.id;

-- name: job_audit_of
select a.id, a.at, a.actor, a.action, a.directory_id, a.from_status, a.to_status, a.details
  from audit_log a
 where a.job_id = %(job_id)s
 order by a.id;
