-- Operational alerts: raised and cleared by the orchestrator (service role), read and
-- acknowledged by staff under their own JWT (RLS and staff_alerts_acknowledge's check).

-- name: alerts_raise
select alerts_raise(kind => %(kind)s, message => %(message)s, details => %(details)s::jsonb) as raised;

-- name: alerts_clear
select alerts_clear(kind => %(kind)s) as cleared;

-- name: alerts_check_directory_failures
select alerts_check_directory_failures() as result;

-- name: alerts_list_open
select id, kind, message, details, raised_at, acknowledged_at, acknowledged_by
  from alerts where cleared_at is null order by raised_at;

-- name: alerts_list_recent
-- Open alerts first, then recent ones (a database outage is raised and cleared at once, so
-- cleared alerts must stay visible until someone acknowledges them).
select a.id, a.kind, a.message, a.details, a.raised_at, a.cleared_at, a.acknowledged_at,
       a.acknowledged_by
  from alerts a
 where a.cleared_at is null or a.acknowledged_at is null or a.raised_at > now() - interval '1 day'
 order by (a.cleared_at is null) desc, a.raised_at desc, a.id desc
 limit %(limit)s;

-- name: alerts_acknowledge
select a.id, a.kind, a.acknowledged_at, a.acknowledged_by
  from staff_alerts_acknowledge(alert_id => %(alert_id)s) a;
