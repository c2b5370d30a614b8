-- Why: a notifier that was not running when mail was queued must not send it long after.
-- A dev database reused by `make up` days later holds mail queued while no webhook ran (jobs
-- finishing after the webhook stopped, old `make demo` orders) and needs-action jobs whose
-- reminders fell due meanwhile; a production notifier back from a long outage has the same
-- backlog. "Your job has started" or a reminder days late is wrong, not late. So:
--   * notifications_skip_stale marks every unsent message queued more than
--     stale_after_seconds ago as skipped, with the reason (staff see it), and returns them so
--     the notifier logs each one;
--   * notifications_enqueue_reminders gains stale_after_seconds: a reminder that fell due more
--     than that long ago is not queued, only counted (the notifier logs the count).
-- The webhook's setting NOTIFIER_STALE_AFTER_SECONDS chooses the cutoff (a week by default;
-- `make up` uses an hour). Service role only, as the rest of the outbox.

create function public.notifications_skip_stale(stale_after_seconds int)
returns table (id bigint, kind text, order_id uuid, job_id uuid, created_at timestamptz)
language plpgsql security definer set search_path = ''
as $$
begin
  perform private.check_argument(coalesce(notifications_skip_stale.stale_after_seconds, 0) > 0,
    'stale_after_seconds must be positive');
  return query
  with stale as (
    -- Not one another notifier holds a live lease on: it is being sent right now.
    select n.id from public.notifications n
     where n.sent_at is null and n.dead_at is null and n.skipped_reason is null
       and n.created_at < now() - make_interval(secs => notifications_skip_stale.stale_after_seconds)
       and (n.claimed_until is null or n.claimed_until < now())
     order by n.id
       for update skip locked
  )
  update public.notifications n
     set skipped_reason = format('stale: queued %s ago, longer than the notifier''s cutoff (%s); not sent',
                                 date_trunc('second', now() - n.created_at),
                                 make_interval(secs => notifications_skip_stale.stale_after_seconds)),
         claim_token = null, claimed_until = null
    from stale
   where n.id = stale.id
  returning n.id, n.kind::text, n.order_id, n.job_id, n.created_at;
end;
$$;
revoke execute on function public.notifications_skip_stale(int) from public, anon, authenticated;
grant execute on function public.notifications_skip_stale(int) to service_role;

-- As before (20261129001800), plus the cutoff: a job whose next reminder fell due
-- (last needs-action email + remind_after_seconds) more than stale_after_seconds ago is not
-- chased now; it is counted in `stale`. A null cutoff chases every due job, as before.
-- No defaults: with them a call naming two arguments would match both versions.
create function public.notifications_enqueue_reminders(
  remind_after_seconds int, max_reminders int, stale_after_seconds int
) returns table (queued int, stale int)
language plpgsql security definer set search_path = ''
as $$
declare
  v_cutoff timestamptz;
begin
  perform private.check_argument(notifications_enqueue_reminders.remind_after_seconds > 0,
    'remind_after_seconds must be positive');
  perform private.check_argument(notifications_enqueue_reminders.max_reminders >= 0,
    'max_reminders must not be negative');
  perform private.check_argument(coalesce(notifications_enqueue_reminders.stale_after_seconds, 1) > 0,
    'stale_after_seconds must be positive');
  v_cutoff := now() - make_interval(secs => coalesce(notifications_enqueue_reminders.stale_after_seconds, 0));
  return query
  with chased as (
    select n.job_id,
           max(n.sent_at) as last_sent,
           count(*) filter (where n.kind = 'needs_action_reminder') as reminders,
           bool_or(n.sent_at is null and n.dead_at is null and n.skipped_reason is null) as unsent
      from public.notifications n
     where n.kind in ('needs_action', 'needs_action_reminder')
     group by n.job_id
  ), due as (
    select j.id as job_id, j.customer_id, j.order_id, c.reminders,
           notifications_enqueue_reminders.stale_after_seconds is not null
             and c.last_sent + make_interval(secs => notifications_enqueue_reminders.remind_after_seconds)
                 < v_cutoff as is_stale
      from chased c
      join public.jobs j on j.id = c.job_id
     where not c.unsent
       and c.reminders < notifications_enqueue_reminders.max_reminders
       and c.last_sent <= now() - make_interval(secs => notifications_enqueue_reminders.remind_after_seconds)
       and j.status <> 'cancelled'
       and exists (select 1 from public.job_directories d
                    where d.job_id = j.id and d.status = 'needs_action')
  ), inserted as (
    insert into public.notifications (kind, dedupe_key, recipient, customer_id, order_id, job_id, payload)
    select 'needs_action_reminder', 'needs_action_reminder:' || d.job_id || ':' || (d.reminders + 1),
           cu.email, d.customer_id, d.order_id, d.job_id,
           jsonb_build_object('reminder', d.reminders + 1)
      from due d join public.customers cu on cu.id = d.customer_id
     where not d.is_stale
    on conflict (dedupe_key) do nothing
    returning 1
  )
  select (select count(*)::int from inserted), (select count(*)::int from due where due.is_stale);
end;
$$;
revoke execute on function public.notifications_enqueue_reminders(int, int, int) from public, anon, authenticated;
grant execute on function public.notifications_enqueue_reminders(int, int, int) to service_role;

-- The two-argument version stays for its callers, with no cutoff.
create or replace function public.notifications_enqueue_reminders(
  remind_after_seconds int default 172800, max_reminders int default 3
) returns int
language sql security definer set search_path = ''
as $$
  select r.queued from public.notifications_enqueue_reminders(
    remind_after_seconds => $1, max_reminders => $2, stale_after_seconds => null) r;
$$;
