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

-- name: listing_checks_list_own
-- The customer's job page and report, under their JWT (held to their own jobs as
-- jobs_get_own is): every live check of the job's listings, the columns a customer may read.
select lc.directory_id, lc.seq, lc.due_at, lc.listing_url, lc.checked_at, lc.result,
       lc.nap_score, lc.mismatched_fields
  from listing_checks lc
  join jobs j on j.id = lc.job_id
  join customers c on c.id = j.customer_id
 where lc.job_id = %(job_id)s and c.user_id = %(user_id)s
 order by lc.directory_id, lc.seq;

-- name: listing_checks_list_for_staff
-- The staff drill-down, under the staff user's JWT (as dbolt_staff): every check of a job with
-- what the page showed, the worker and its message.
select lc.id, lc.directory_id, lc.seq, lc.due_at, lc.listing_url, lc.checked_at, lc.result,
       lc.nap_score, lc.mismatched_fields, lc.observed, lc.message, lc.http_status, lc.errors,
       lc.worker_id
  from listing_checks lc
 where lc.job_id = %(job_id)s
 order by lc.directory_id, lc.seq;
