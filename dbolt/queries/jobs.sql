-- Jobs: the queue's SQL functions as the orchestrator, CLI and tests call them, and the reads of
-- a job for staff, for the customer's own pages and for the emails.
-- Keyword arguments (`name => value`) so a reordered signature cannot silently swap values.

-- name: jobs_enqueue
select * from jobs_enqueue(order_id => %(order_id)s);

-- name: jobs_next
select * from jobs_next(worker_id => %(worker_id)s, lease_seconds => %(lease_seconds)s);

-- name: jobs_next_assignment
-- Claim and read what to do in one statement: a worker never holds a lease it was not told
-- about because the second read failed. jobs_assignment lists the directories to do (queued,
-- and parked ones that are due, with their resume data) and the customer's mailbox.
select j.id, j.tier, j.lease_token, j.lease_expires_at, j.business_snapshot,
       (select count(*) from job_directories jd where jd.job_id = j.id) as directories_total,
       a.assignment -> 'directories' as directories,
       a.assignment ->> 'mailbox_local_part' as mailbox_local_part
  from jobs_next(worker_id => %(worker_id)s, lease_seconds => %(lease_seconds)s) j
 cross join lateral (select jobs_assignment(job_id => j.id, lease_token => j.lease_token)
                       as assignment) a;

-- name: jobs_heartbeat
select jobs_heartbeat(
  job_id => %(job_id)s, lease_token => %(lease_token)s, lease_seconds => %(lease_seconds)s
) as lease_expires_at;

-- name: jobs_start_directory
select * from jobs_start_directory(
  job_id => %(job_id)s, lease_token => %(lease_token)s, directory_id => %(directory_id)s
);

-- name: jobs_fence_submit
select * from jobs_fence_submit(
  job_id => %(job_id)s, lease_token => %(lease_token)s, directory_id => %(directory_id)s,
  attempt => %(attempt)s
);

-- name: jobs_report_attempt
select * from jobs_report_attempt(
  job_id => %(job_id)s, lease_token => %(lease_token)s, report => %(report)s::jsonb
);

-- name: jobs_save_session
-- A parked directory's browser session, sealed by the orchestrator's vault (never in the clear).
select jobs_save_session(
  job_id => %(job_id)s, lease_token => %(lease_token)s, directory_id => %(directory_id)s,
  key_id => %(key_id)s, ciphertext => %(ciphertext)s
);

-- name: jobs_complete
-- What the orchestrator answers with, not the whole job row: its business snapshot would be
-- sent and parsed on every completion for nothing.
select id, status, wake_at
  from jobs_complete(job_id => %(job_id)s, lease_token => %(lease_token)s);

-- name: jobs_release
select * from jobs_release(job_id => %(job_id)s, lease_token => %(lease_token)s, reason => %(reason)s);

-- name: jobs_reap_expired
select * from jobs_reap_expired(max_lost_leases => %(max_lost_leases)s);

-- name: jobs_wake_due
-- The orchestrator's wake loop: email waits timed out, waiting jobs whose time has come.
select * from jobs_wake_due(actor => %(actor)s, mailbox_domain => %(mailbox_domain)s);

-- name: jobs_retry
select jobs_retry(
  job_id => %(job_id)s, directory_ids => %(directory_ids)s, actor => %(actor)s
) as retried;

-- name: jobs_pause
select * from jobs_pause(job_id => %(job_id)s, actor => %(actor)s, reason => %(reason)s);

-- name: jobs_resume
select * from jobs_resume(job_id => %(job_id)s, actor => %(actor)s);

-- name: jobs_cancel
select * from jobs_cancel(job_id => %(job_id)s, actor => %(actor)s, reason => %(reason)s);

-- name: jobs_confirm_live
select * from jobs_confirm_live(
  job_id => %(job_id)s, directory_id => %(directory_id)s, listing_url => %(listing_url)s,
  actor => %(actor)s
);

-- name: jobs_mark_submitted
select * from jobs_mark_submitted(
  job_id => %(job_id)s, directory_id => %(directory_id)s, actor => %(actor)s,
  listing_url => %(listing_url)s
);

-- name: jobs_mark_failed
select * from jobs_mark_failed(
  job_id => %(job_id)s, directory_id => %(directory_id)s, reason => %(reason)s, actor => %(actor)s
);

-- name: jobs_list
-- Every job for staff, newest first (created_at, then id, both descending): the orchestrator's
-- staff API (service role) and the dashboard (the staff user's JWT, whom RLS lets read every
-- job) share it. Every filter is optional (null: not filtered); `customer` matches the email or
-- business name, `search` also a job or order id prefix or the worker id; `created_before` is
-- exclusive.
-- Paged by a keyset cursor (dbolt/job_cursor.py), never by counting: `before_at`/`before_id`
-- (null: from the newest) gives the page older than that job; with `newer` true,
-- `after_at`/`after_id` gives the page just newer than it. Either way the rows come newest
-- first. Each bound is one row comparison on the (created_at, id) index, a plan that holds as
-- a generic one too. `offset` stays for the orchestrator's older clients (0 otherwise).
-- A year of jobs cost 11x an empty database's while every match was counted (bench/scale).
-- Planned each call: a generic plan cannot tell a null filter from a rare one, and sorted
-- every job instead of walking the index (50x at 1/100 of a year once psycopg prepared it).
-- prepare: never
with matching as not materialized (
  select j.id, j.order_id, j.customer_id, c.email as customer_email, c.business_name, j.tier,
         j.status, j.worker_id, j.lost_leases, j.created_at, j.started_at, j.completed_at,
         j.updated_at
    from jobs j
    join customers c on c.id = j.customer_id
   where (%(status)s::job_status is null or j.status = %(status)s::job_status)
     and (%(tier)s::text is null or j.tier = %(tier)s::text)
     and (%(customer)s::text is null
          or c.email ilike '%%' || %(customer)s::text || '%%'
          or c.business_name ilike '%%' || %(customer)s::text || '%%')
     and j.created_at >= coalesce(%(created_after)s::timestamptz, '-infinity')
     and j.created_at < coalesce(%(created_before)s::timestamptz, 'infinity')
     and (%(search)s::text is null
          or j.id::text like lower(%(search)s::text) || '%%'
          or j.order_id::text like lower(%(search)s::text) || '%%'
          or c.email ilike '%%' || %(search)s::text || '%%'
          or c.business_name ilike '%%' || %(search)s::text || '%%'
          or j.worker_id ilike '%%' || %(search)s::text || '%%')
),
page as (
  (select m.* from matching m
    where not %(newer)s::boolean
      and (m.created_at, m.id) < (coalesce(%(before_at)s::timestamptz, 'infinity'),
                                  coalesce(%(before_id)s::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff'))
    order by m.created_at desc, m.id desc
    limit %(limit)s offset %(offset)s)
  union all
  (select m.* from matching m
    where %(newer)s::boolean
      and (m.created_at, m.id) > (%(after_at)s::timestamptz, %(after_id)s::uuid)
    order by m.created_at, m.id
    limit %(limit)s)
)
select p.*, n.directories, n.directories_done, n.directories_failed,
       -- Skipped by the job's cancel (private.job_directory_states): not done, whatever
       -- directories_done says.
       case when p.status = 'cancelled' then (
         select count(*) from private.job_directory_states s
          where s.job_id = p.id and s.state = 'cancelled') else 0 end as directories_cancelled
  from page p
  cross join lateral (
    select count(*) as directories,
           count(*) filter (where d.status not in ('queued', 'in_progress', 'waiting'))
             as directories_done,
           count(*) filter (where d.status = 'failed') as directories_failed
      from job_directories d
     where d.job_id = p.id
  ) n
 order by p.created_at desc, p.id desc;

-- name: jobs_count_by_status
-- How many jobs are in each status, exact, from the counters the status changes keep (staff
-- JWT only; the orchestrator reads them through queue_stats): the jobs list's count where one
-- is cheap.
select status, jobs from staff_job_counts_by_status();

-- name: jobs_get
-- One job with its internals, for staff (service role, or a staff JWT as dbolt_staff).
select j.id, j.order_id, j.customer_id, c.email as customer_email, c.business_name, j.tier,
       j.status, j.worker_id, j.lease_expires_at, j.lost_leases, j.business_snapshot,
       j.created_at, j.started_at, j.completed_at, j.updated_at, j.staff_reason
  from jobs j join customers c on c.id = j.customer_id
 where j.id = %(job_id)s;

-- name: jobs_get_own
-- The customer's job page, under their JWT. RLS hides other customers' jobs; the user id also
-- holds staff, whom RLS lets read every job, to their own jobs on the customer's pages.
select j.id, j.order_id, j.tier, j.status, j.created_at, j.started_at, j.completed_at,
       j.updated_at, j.business_snapshot ->> 'business_name' as business_name,
       j.business_snapshot ->> 'country' as business_country,
       -- The report's cover prints where and how to reach the business.
       jsonb_build_object(
         'street_address', j.business_snapshot ->> 'street_address',
         'city', j.business_snapshot ->> 'city', 'region', j.business_snapshot ->> 'region',
         'postal_code', j.business_snapshot ->> 'postal_code',
         'phone', j.business_snapshot ->> 'phone', 'website', j.business_snapshot ->> 'website'
       ) as business_contact,
       (select bc.label from business_categories bc
         where bc.slug = j.business_snapshot ->> 'category') as business_category_label,
       exists (select 1 from job_reports r where r.job_id = j.id) as has_report,
       j.staff_reason
  from jobs j
  join customers c on c.id = j.customer_id
 where j.id = %(job_id)s and c.user_id = %(user_id)s;

-- name: jobs_get_for_notification
-- What a job email says (webhook/notifier.py): the job as it is now, its counts and what
-- needs the customer.
select j.id as job_id, j.status::text as status, j.tier,
       coalesce(j.business_snapshot ->> 'business_name', 'your business') as business_name,
       (select count(*) from public.job_directories d where d.job_id = j.id) as directories,
       -- Delivered as the package counts it (private.package_counts): made or found listed.
       (select count(*) from public.job_directories d
         where d.job_id = j.id
           and d.status in ('submitted', 'live', 'already_listed', 'live_mismatch')) as submitted,
       (select count(*) from public.job_directories d
         where d.job_id = j.id and d.status = 'failed') as failed,
       (select coalesce(jsonb_agg(jsonb_build_object('directory', coalesce(dir.name, d.directory_id),
                                                     'action', d.action_required)
                                  order by d.position), '[]')
          from public.job_directories d
          left join public.directories dir on dir.id = d.directory_id
         where d.job_id = j.id and d.status = 'needs_action') as needs_action,
       to_jsonb(p) as promise,
       -- What became of each directory not submitted (dbolt/package_promise.py words it).
       (select coalesce(jsonb_agg(jsonb_build_object('directory', coalesce(dir.name, d.directory_id),
                                                     'status', d.status, 'attempts', d.attempts,
                                                     'replaced_by', d.replaced_by,
                                                     'replaced_by_name', rdir.name)
                                  order by d.position), '[]')
          from public.job_directories d
          left join public.directories dir on dir.id = d.directory_id
          left join public.directories rdir on rdir.id = d.replaced_by
         where d.job_id = j.id and d.status not in ('submitted', 'live')) as not_submitted,
       -- Why the others did not take the listing: the code and the known details the email's
       -- plain words are built from (dbolt/refusals.py); the raw message is read only for
       -- the field name at its start and never printed.
       j.business_snapshot ->> 'country' as business_country,
       (select bc.label from public.business_categories bc
         where bc.slug = j.business_snapshot ->> 'category') as business_category_label,
       (select coalesce(jsonb_agg(jsonb_build_object('directory', coalesce(dir.name, d.directory_id),
                                                     'last_error_code', d.last_error_code,
                                                     'last_message', d.last_message,
                                                     'phone_countries', dir.phone_countries)
                                  order by d.position), '[]')
          from public.job_directories d
          left join public.directories dir on dir.id = d.directory_id
         where d.job_id = j.id and d.status in ('failed', 'skipped')) as not_taken
  from public.jobs j
  cross join lateral public.package_promise(j.id) p
 where j.id = %(job_id)s;

-- name: jobs_get_promise
-- What a job delivered against its package (dbolt/package_promise.py): under the customer's
-- JWT (RLS: their own jobs only) or as the service role.
select * from public.package_promise(%(job_id)s);
