-- Workers as the queue functions record them.

-- name: workers_health
-- Healthy: seen within the window. Stale: holding a job but silent past the window.
select count(*) filter (where last_seen_at > now() - make_interval(secs => %(stale_seconds)s)) as healthy,
       count(*) filter (where last_seen_at <= now() - make_interval(secs => %(stale_seconds)s)
                          and current_job_id is not null) as stale
  from workers
 where last_seen_at > now() - interval '1 day';
