-- The audit trail of staff and queue actions.

-- name: audit_log_list_for_job
select a.id, a.at, a.actor, a.action, a.directory_id, a.from_status, a.to_status, a.details
  from audit_log a
 where a.job_id = %(job_id)s
 order by a.id;

-- name: audit_log_list_for_job_directories
-- The drill-down's audit trail (staff JWT): the job's own entries and those of the directories
-- on the current page, oldest first.
select a.id, a.at, a.actor, a.action, a.directory_id, a.from_status, a.to_status, a.details
  from audit_log a
 where a.job_id = %(job_id)s
   and (a.directory_id is null or a.directory_id = any (%(directory_ids)s::text[]))
 order by a.id;
