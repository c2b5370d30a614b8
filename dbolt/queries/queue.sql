-- The queue as a whole: its counts and health, for /healthz, /metrics, the CLI and staff.

-- name: queue_stats
select queue_stats() as stats;

-- name: queue_fold_metrics_counters
-- Run by the orchestrator's refresh loop first, so the reads below sum few shard rows
-- (migration 20261208000140).
select metrics_counters_fold() as folded;

-- name: queue_stats_with_health
-- One round trip for the orchestrator's refresh loop.
-- `outbox`: customer emails not yet sent (and the oldest one's age), emails given up on, and
-- Stripe events that could not be applied — work that is stuck where no worker will see it.
select queue_stats() as stats, metrics_totals() as totals,
       provider_health(window_seconds => %(window_seconds)s) as providers,
       (select jsonb_build_object(
                 'emails_unsent', u.n,
                 'oldest_unsent_email_seconds', coalesce(extract(epoch from now() - u.oldest), 0),
                 'emails_dead', (select count(*) from notifications n where n.dead_at is not null),
                 'stripe_events_rejected', (select count(*) from stripe_events e
                                              where e.processed_at is null and e.error is not null))
          -- Each count reads only the rows it counts (partial indexes, migration
          -- 20261208000120), never every email ever sent: this runs every few seconds.
          from (select count(*) as n, min(n.created_at) as oldest from notifications n
                 where n.sent_at is null and n.dead_at is null and n.skipped_reason is null) u)
         as outbox;

-- name: queue_status
-- The dashboard's status panel, under the staff user's JWT (staff_queue_status checks it).
select staff_queue_status(stale_seconds => %(stale_seconds)s) as status;
