-- The staff dashboard's reads and writes (portal/routers/staff.py), all run under the staff
-- user's own JWT (db.as_viewer): RLS and the staff_* functions' is_staff() check decide.
-- Interventions on jobs are not here: they go through the orchestrator's staff API.

-- name: portal_staff_queue_status
select staff_queue_status(stale_seconds => %(stale_seconds)s) as status;

-- name: portal_staff_jobs
-- Filters are optional; `search` matches a job or order id prefix, the customer's email or
-- business name, or the worker id.
select j.id, j.order_id, c.email as customer_email, c.business_name, j.tier, j.status,
       j.worker_id, j.lost_leases, j.created_at, j.started_at, j.completed_at, j.updated_at,
       (select count(*) from job_directories d where d.job_id = j.id) as directories,
       (select count(*) from job_directories d
         where d.job_id = j.id and d.status not in ('queued', 'in_progress')) as directories_done,
       (select count(*) from job_directories d
         where d.job_id = j.id and d.status = 'failed') as directories_failed,
       count(*) over () as total
  from jobs j
  join customers c on c.id = j.customer_id
 where (%(status)s::job_status is null or j.status = %(status)s::job_status)
   and (%(tier)s::text is null or j.tier = %(tier)s::text)
   and (%(customer)s::text is null
        or c.email ilike '%%' || %(customer)s::text || '%%'
        or c.business_name ilike '%%' || %(customer)s::text || '%%')
   and (%(created_from)s::date is null or j.created_at >= %(created_from)s::date)
   and (%(created_to)s::date is null or j.created_at < %(created_to)s::date + 1)
   and (%(search)s::text is null
        or j.id::text like lower(%(search)s::text) || '%%'
        or j.order_id::text like lower(%(search)s::text) || '%%'
        or c.email ilike '%%' || %(search)s::text || '%%'
        or c.business_name ilike '%%' || %(search)s::text || '%%'
        or j.worker_id ilike '%%' || %(search)s::text || '%%')
 order by j.created_at desc, j.id
 limit %(limit)s offset %(offset)s;

-- The drill-down reads the job, its directories, attempts and audit trail with the
-- orchestrator's own queries (ops.sql: job_get, job_directories_of, job_attempts_of,
-- job_audit_of), run here under the staff user's JWT.

-- name: portal_staff_attempt_artifacts
select r.id, r.job_id, r.artifacts
  from job_results r
 where r.job_id = %(job_id)s and r.id = %(attempt_id)s;

-- name: portal_staff_chart_series
select * from staff_chart_series(window_seconds => %(window_seconds)s, bucket_seconds => %(bucket_seconds)s);

-- name: portal_staff_directory_success
select * from staff_directory_success(window_seconds => %(window_seconds)s);

-- name: portal_staff_alerts
-- Open alerts first, then recent ones (a database outage is raised and cleared at once, so
-- cleared alerts must stay visible until someone acknowledges them).
select a.id, a.kind, a.message, a.details, a.raised_at, a.cleared_at, a.acknowledged_at,
       a.acknowledged_by
  from alerts a
 where a.cleared_at is null or a.acknowledged_at is null or a.raised_at > now() - interval '1 day'
 order by (a.cleared_at is null) desc, a.raised_at desc, a.id desc
 limit %(limit)s;

-- name: portal_staff_alerts_acknowledge
select a.id, a.kind, a.acknowledged_at, a.acknowledged_by
  from staff_alerts_acknowledge(alert_id => %(alert_id)s) a;
