-- The audit trail of staff and queue actions.

-- name: audit_log_list_for_job
select a.id, a.at, a.actor, a.action, a.directory_id, a.from_status, a.to_status, a.details
  from audit_log a
 where a.job_id = %(job_id)s
 order by a.id;
