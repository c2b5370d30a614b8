-- name: listing_checks_set_policy
-- Service role (orchestrator start-up): the schedule of live checks.
select live_check_policy_set(
  delays => %(delays)s::interval[], error_retry => %(error_retry)s::interval,
  max_errors => %(max_errors)s::int
) as policy;

-- name: listing_checks_claim
-- Service role (worker API): due live checks, each leased to the worker.
select * from listing_checks_claim(
  worker_id => %(worker_id)s::text, batch_size => %(batch_size)s::int,
  lease_seconds => %(lease_seconds)s::int
);

-- name: listing_checks_report
-- Service role (worker API): one check's result, under its lease.
select * from listing_checks_report(
  check_id => %(check_id)s::bigint, lease_token => %(lease_token)s::uuid, result => %(result)s::text,
  nap_score => %(nap_score)s::numeric, mismatched_fields => %(mismatched_fields)s::text[],
  observed => %(observed)s::jsonb, message => %(message)s::text, http_status => %(http_status)s::int
);

-- name: listing_checks_list_for_job
-- Every check of a job's listings, newest first per directory, under the viewer's JWT (RLS:
-- a customer their own job, staff every job); the columns a customer may read.
select c.id, c.directory_id, c.seq, c.due_at, c.listing_url, c.checked_at, c.result,
       c.nap_score, c.mismatched_fields
  from listing_checks c
 where c.job_id = %(job_id)s
 order by c.directory_id, c.seq desc;
