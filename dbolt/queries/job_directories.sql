-- The directories of a job: what a worker still has to do, what staff and the customer see.

-- name: job_directories_list
-- Every directory of a job with its progress, for staff's drill-down.
select d.directory_id, dir.name, d.position, d.status, d.attempts, d.max_attempts,
       d.last_outcome, d.last_error_code, d.last_message, d.listing_url, d.action_required,
       d.updated_at, d.submitted_at
  from job_directories d join directories dir on dir.id = d.directory_id
 where d.job_id = %(job_id)s
 order by d.position;

-- name: job_directories_list_own
-- The customer's job page, under their JWT (held to their own jobs as jobs_get_own is): every
-- directory of the job in submission order. A directory disabled since the job was made is
-- still listed (left join), by its id if its name is gone.
select d.directory_id, coalesce(dir.name, d.directory_id) as directory, dir.homepage,
       d.position, d.status, d.attempts, d.max_attempts, d.last_outcome, d.last_error_code,
       d.last_rejected_field, d.listing_url, d.action_required, d.submitted_at, d.updated_at,
       dir.countries, dir.phone_countries
  from job_directories d
  join jobs j on j.id = d.job_id
  join customers c on c.id = j.customer_id
  left join directories dir on dir.id = d.directory_id
 where d.job_id = %(job_id)s and c.user_id = %(user_id)s
 order by d.position;

-- name: job_directories_list_remaining
-- What a worker still has to do for a job, in order, with each directory's recipe.
select jd.directory_id, jd.position, jd.status, jd.attempts, jd.max_attempts,
       d.name, d.homepage, d.submit_url, d.captcha_kind, d.requirements, d.proxy_required,
       d.mode, d.recipe, d.countries, d.phone_countries, d.category_map
  from job_directories jd
  join directories d on d.id = jd.directory_id
 where jd.job_id = %(job_id)s and jd.status in ('queued', 'in_progress')
 order by jd.position;
