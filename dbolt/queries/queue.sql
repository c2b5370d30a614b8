-- The queue's SQL functions, as the orchestrator, CLI and tests call them.
-- Keyword arguments (`name => value`) so a reordered signature cannot silently swap values.

-- name: jobs_enqueue
select * from jobs_enqueue(order_id => %(order_id)s);

-- name: jobs_next
select * from jobs_next(worker_id => %(worker_id)s, lease_seconds => %(lease_seconds)s);

-- name: jobs_heartbeat
select jobs_heartbeat(
  job_id => %(job_id)s, lease_token => %(lease_token)s, lease_seconds => %(lease_seconds)s
) as lease_expires_at;

-- name: jobs_start_directory
select * from jobs_start_directory(
  job_id => %(job_id)s, lease_token => %(lease_token)s, directory_id => %(directory_id)s
);

-- name: jobs_report_attempt
select * from jobs_report_attempt(
  job_id => %(job_id)s, lease_token => %(lease_token)s, report => %(report)s::jsonb
);

-- name: jobs_complete
select * from jobs_complete(job_id => %(job_id)s, lease_token => %(lease_token)s);

-- name: jobs_release
select * from jobs_release(job_id => %(job_id)s, lease_token => %(lease_token)s, reason => %(reason)s);

-- name: jobs_reap_expired
select * from jobs_reap_expired(max_lost_leases => %(max_lost_leases)s);

-- name: jobs_retry
select jobs_retry(
  job_id => %(job_id)s, directory_ids => %(directory_ids)s, actor => %(actor)s
) as retried;

-- name: jobs_pause
select * from jobs_pause(job_id => %(job_id)s, actor => %(actor)s);

-- name: jobs_resume
select * from jobs_resume(job_id => %(job_id)s, actor => %(actor)s);

-- name: jobs_cancel
select * from jobs_cancel(job_id => %(job_id)s, actor => %(actor)s);

-- name: queue_stats
select queue_stats() as stats;

-- name: job_remaining_directories
-- What a worker still has to do for a job, in order, with each directory's recipe.
select jd.directory_id, jd.position, jd.status, jd.attempts, jd.max_attempts,
       d.name, d.homepage, d.submit_url, d.captcha_kind, d.requirements, d.proxy_required,
       d.mode, d.recipe
  from job_directories jd
  join directories d on d.id = jd.directory_id
 where jd.job_id = %(job_id)s and jd.status in ('queued', 'in_progress')
 order by jd.position;

-- name: jobs_confirm_live
select * from jobs_confirm_live(
  job_id => %(job_id)s, directory_id => %(directory_id)s, listing_url => %(listing_url)s,
  actor => %(actor)s
);

-- name: queue_stats_with_health
-- One round trip for the orchestrator's refresh loop.
-- `outbox`: customer emails not yet sent (and the oldest one's age), emails given up on, and
-- Stripe events that could not be applied — work that is stuck where no worker will see it.
select queue_stats() as stats, metrics_totals() as totals,
       provider_health(window_seconds => %(window_seconds)s) as providers,
       (select jsonb_build_object(
                 'emails_unsent', count(*) filter (where n.sent_at is null and n.dead_at is null
                                                     and n.skipped_reason is null),
                 'oldest_unsent_email_seconds', coalesce(extract(epoch from now() - min(n.created_at)
                     filter (where n.sent_at is null and n.dead_at is null
                               and n.skipped_reason is null)), 0),
                 'emails_dead', count(*) filter (where n.dead_at is not null),
                 'stripe_events_rejected', (select count(*) from stripe_events e
                                              where e.processed_at is null and e.error is not null))
          from notifications n) as outbox;

-- name: jobs_next_assignment
-- Claim and read what to do in one statement: a worker never holds a lease it was not told
-- about because the second read failed.
select j.id, j.tier, j.lease_token, j.lease_expires_at, j.business_snapshot,
       (select count(*) from job_directories jd where jd.job_id = j.id) as directories_total,
       coalesce((
         select jsonb_agg(jsonb_build_object(
                  'directory_id', jd.directory_id, 'name', d.name, 'position', jd.position,
                  'status', jd.status, 'attempts', jd.attempts, 'max_attempts', jd.max_attempts,
                  'homepage', d.homepage, 'submit_url', d.submit_url,
                  'captcha_kind', d.captcha_kind, 'requirements', d.requirements,
                  'proxy_required', d.proxy_required, 'mode', d.mode, 'recipe', d.recipe)
                  order by jd.position)
           from job_directories jd join directories d on d.id = jd.directory_id
          where jd.job_id = j.id and jd.status in ('queued', 'in_progress')
       ), '[]'::jsonb) as directories
  from jobs_next(worker_id => %(worker_id)s, lease_seconds => %(lease_seconds)s) j;
