-- The directories of a job: what a worker still has to do, what staff and the customer see.

-- name: job_directories_list
-- Every directory of a job with its progress, for staff's drill-down.
select d.directory_id, dir.name, d.position, d.status, d.attempts, d.max_attempts,
       d.last_outcome, d.last_error_code, d.last_message, d.listing_url, d.action_required,
       d.updated_at, d.submitted_at
  from job_directories d join directories dir on dir.id = d.directory_id
 where d.job_id = %(job_id)s
 order by d.position;

-- name: job_directories_count_by_state
-- The staff drill-down's filter chips (staff JWT): how many directories of a job are in each
-- state (private.job_directory_states: skipped by the job's cancel counts as `cancelled`).
select s.state, count(*) as n
  from private.job_directory_states s
 where s.job_id = %(job_id)s
 group by s.state
 order by s.state;

-- name: job_directories_list_page
-- One page of a job's directories for staff's drill-down (staff JWT), in submission order,
-- only those in `state` (null: every state; states as private.job_directory_states defines
-- them), so a job of 500 directories is read a page at a time.
select d.directory_id, coalesce(dir.name, d.directory_id) as name, d.position, d.status,
       s.state, d.attempts, d.max_attempts, d.last_outcome, d.last_error_code, d.last_message,
       d.listing_url, d.action_required, d.updated_at, d.submitted_at
  from job_directories d
  join private.job_directory_states s
    on s.job_id = d.job_id and s.directory_id = d.directory_id
  left join directories dir on dir.id = d.directory_id
 where d.job_id = %(job_id)s
   and (%(state)s::text is null or s.state = %(state)s::text)
 order by d.position, d.directory_id
 limit %(limit)s offset %(offset)s;

-- name: job_directories_list_own
-- The customer's job page, under their JWT (held to their own jobs as jobs_get_own is): every
-- directory of the job in submission order. A directory disabled since the job was made is
-- still listed (left join), by its id if its name is gone.
select d.directory_id, coalesce(dir.name, d.directory_id) as directory, dir.homepage,
       d.position, d.status, d.attempts, d.max_attempts, d.last_outcome, d.last_error_code,
       d.last_rejected_field, d.listing_url, d.action_required, d.submitted_at, d.updated_at,
       d.customer_done_at,
       d.replaced_by, rdir.name as replaced_by_name, dir.countries, dir.phone_countries
  from job_directories d
  join jobs j on j.id = d.job_id
  join customers c on c.id = j.customer_id
  left join directories dir on dir.id = d.directory_id
  left join directories rdir on rdir.id = d.replaced_by
 where d.job_id = %(job_id)s and c.user_id = %(user_id)s
 order by d.position;

-- name: job_directories_list_for_review
-- The staff review queue, under the staff user's JWT (as dbolt_staff: RLS lets staff read every
-- job; the attempt's artifacts are a staff column): every directory needing review or action
-- across jobs, oldest first, a page after the keyset cursor (null for the first page), with its
-- latest attempt for the artifact links.
select d.job_id, d.directory_id, d.status, d.updated_at, d.attempts, d.last_outcome,
       d.last_error_code, d.last_message, d.action_required, d.listing_url,
       coalesce(dir.name, d.directory_id) as name, dir.homepage,
       j.status as job_status, j.tier, c.email as customer_email,
       coalesce(c.business_name, j.business_snapshot ->> 'business_name') as business_name,
       r.id as attempt_id, r.attempt, r.artifacts, r.message as attempt_message,
       r.reported_at
  from job_directories d
  join jobs j on j.id = d.job_id
  join customers c on c.id = j.customer_id
  left join directories dir on dir.id = d.directory_id
  left join lateral (
    select r.id, r.attempt, r.artifacts, r.message, r.reported_at
      from job_results r
     where r.job_id = d.job_id and r.directory_id = d.directory_id
     order by r.id desc
     limit 1
  ) r on true
 where d.status in ('needs_review', 'needs_action')
   and (%(after_at)s::timestamptz is null
        or (d.updated_at, d.job_id, d.directory_id)
           > (%(after_at)s::timestamptz, %(after_job)s::uuid, %(after_directory)s::text))
 order by d.updated_at, d.job_id, d.directory_id
 limit %(limit)s;

-- name: job_directories_count_for_review
-- The overview's review count (staff JWT): what waits for staff, and what waits for customers.
-- Through staff_review_counts(): under RLS the status filter could not use the review index.
select needs_review, needs_action from staff_review_counts();

-- name: job_directories_list_remaining
-- What a worker still has to do for a job, in order, with each directory's recipe.
select jd.directory_id, jd.position, jd.status, jd.attempts, jd.max_attempts,
       d.name, d.homepage, d.submit_url, d.captcha_kind, d.requirements, d.proxy_required,
       d.mode, d.recipe, d.countries, d.phone_countries, d.category_map
  from job_directories jd
  join directories d on d.id = jd.directory_id
 where jd.job_id = %(job_id)s and jd.status in ('queued', 'in_progress')
 order by jd.position;
