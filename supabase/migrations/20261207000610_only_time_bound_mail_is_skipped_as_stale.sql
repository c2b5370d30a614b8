-- Why: 20261207000600 skipped EVERY message queued before the notifier's cutoff, and a
-- reminder that fell due before it was only counted. A review found three ways that hurts
-- a customer more than a late email would:
--   * a skipped payment_received locks the buyer out: that email is where their sign-in
--     account is created and linked (webhook/notifier.py, customers_link_user), and the
--     portal's sign-in never creates one;
--   * a skipped first needs_action left no sent notice, so no reminder was ever queued (the
--     reminder query measured from max(sent_at), null) and the customer was never told;
--   * a stale reminder was never recorded: the job stayed stale on every run, reminders for
--     it stopped for good, and the "not queued" log line repeated every check.
--
-- So the cutoff now applies per kind, only to mail whose content is time-bound:
--   payment_received       SENT however late: it carries the account and the sign-in link.
--   job_complete           SENT however late: "your report is ready" is still true and is
--                          what they paid for; a late one is useful, a missing one is not.
--   needs_action           SENT however late: the first notice that a listing is waiting on
--                          them; the send-time check already drops it when nothing needs
--                          action any more, and reminders are measured from it.
--   job_started            skipped when stale: "we have started" days later is wrong.
--   needs_action_reminder  skipped when stale: a reminder days late reads like a glitch;
--                          the chase resumes at its normal pace (below).
--
-- Reminders are measured from the last needs-action row that was SETTLED without error:
-- sent (sent_at) or skipped (its created_at). A reminder that fell due before the cutoff is
-- no longer just counted: it is recorded as a skipped reminder (with the reason, staff see
-- it), so the count advances, the next one is due remind_after_seconds from now, and the
-- notifier logs it once, not on every check. It uses up one of max_reminders: the customer
-- was not reminded then and is not told about the gap.
-- Same signatures and grants (service role only) as 20261207000600.

create or replace function public.notifications_skip_stale(stale_after_seconds int)
returns table (id bigint, kind text, order_id uuid, job_id uuid, created_at timestamptz)
language plpgsql security definer set search_path = ''
as $$
begin
  perform private.check_argument(coalesce(notifications_skip_stale.stale_after_seconds, 0) > 0,
    'stale_after_seconds must be positive');
  return query
  with stale as (
    -- Only the time-bound kinds (see the comment at the top of this file); not one another
    -- notifier holds a live lease on: it is being sent right now.
    select n.id from public.notifications n
     where n.sent_at is null and n.dead_at is null and n.skipped_reason is null
       and n.kind in ('job_started', 'needs_action_reminder')
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

-- `stale` now counts the reminders recorded as skipped in this call.
create or replace function public.notifications_enqueue_reminders(
  remind_after_seconds int, max_reminders int, stale_after_seconds int
) returns table (queued int, stale int)
language plpgsql security definer set search_path = ''
as $$
declare
  v_remind interval;
  v_cutoff timestamptz;
begin
  perform private.check_argument(notifications_enqueue_reminders.remind_after_seconds > 0,
    'remind_after_seconds must be positive');
  perform private.check_argument(notifications_enqueue_reminders.max_reminders >= 0,
    'max_reminders must not be negative');
  perform private.check_argument(coalesce(notifications_enqueue_reminders.stale_after_seconds, 1) > 0,
    'stale_after_seconds must be positive');
  v_remind := make_interval(secs => notifications_enqueue_reminders.remind_after_seconds);
  v_cutoff := now() - make_interval(secs => coalesce(notifications_enqueue_reminders.stale_after_seconds, 0));
  return query
  with chased as (
    select n.job_id,
           -- When the customer was last told, or we last decided not to tell them.
           max(case when n.sent_at is not null then n.sent_at
                    when n.skipped_reason is not null then n.created_at end) as last_settled,
           count(*) filter (where n.kind = 'needs_action_reminder') as reminders,
           bool_or(n.sent_at is null and n.dead_at is null and n.skipped_reason is null) as unsent
      from public.notifications n
     where n.kind in ('needs_action', 'needs_action_reminder')
     group by n.job_id
  ), due as (
    select j.id as job_id, j.customer_id, j.order_id, c.reminders,
           c.last_settled + v_remind as due_at,
           notifications_enqueue_reminders.stale_after_seconds is not null
             and c.last_settled + v_remind < v_cutoff as is_stale
      from chased c
      join public.jobs j on j.id = c.job_id
     where not c.unsent
       and c.reminders < notifications_enqueue_reminders.max_reminders
       and c.last_settled <= now() - v_remind
       and j.status <> 'cancelled'
       and exists (select 1 from public.job_directories d
                    where d.job_id = j.id and d.status = 'needs_action')
  ), inserted as (
    insert into public.notifications (kind, dedupe_key, recipient, customer_id, order_id, job_id,
                                      payload, skipped_reason)
    select 'needs_action_reminder', 'needs_action_reminder:' || d.job_id || ':' || (d.reminders + 1),
           cu.email, d.customer_id, d.order_id, d.job_id,
           jsonb_build_object('reminder', d.reminders + 1),
           case when d.is_stale then
             format('stale: fell due %s ago, longer than the notifier''s cutoff (%s); not sent',
                    date_trunc('second', now() - d.due_at),
                    make_interval(secs => notifications_enqueue_reminders.stale_after_seconds))
           end
      from due d join public.customers cu on cu.id = d.customer_id
    on conflict (dedupe_key) do nothing
    returning skipped_reason is not null as was_stale
  )
  select (select count(*)::int from inserted where not inserted.was_stale),
         (select count(*)::int from inserted where inserted.was_stale);
end;
$$;
revoke execute on function public.notifications_enqueue_reminders(int, int, int) from public, anon, authenticated;
grant execute on function public.notifications_enqueue_reminders(int, int, int) to service_role;
