-- Why: customers are emailed when their payment is received, their job starts, completes,
-- or needs them to act. The email is queued by a trigger IN THE SAME TRANSACTION as the state
-- change (a transactional outbox), so a committed change always has its email queued and a
-- rolled-back one never does; a dedupe key makes each one fire once however often the
-- change is replayed. The webhook's notifier drains the outbox (claim with a lease, SKIP
-- LOCKED; send; mark sent or failed with backoff); nothing is dropped: after max attempts a
-- message is kept as dead with its last error, for staff to see.

create type public.notification_kind as enum (
  'payment_received', 'job_started', 'job_complete', 'needs_action', 'needs_action_reminder'
);

create table public.notifications (
  id bigint generated always as identity primary key,
  kind public.notification_kind not null,
  -- e.g. 'job_started:<job id>': the same event queued twice is queued once.
  dedupe_key text not null unique,
  recipient text not null check (recipient like '%_@_%'),
  customer_id uuid not null references public.customers (id),
  order_id uuid references public.orders (id),
  job_id uuid references public.jobs (id),
  payload jsonb not null default '{}' check (jsonb_typeof(payload) = 'object'),
  created_at timestamptz not null default now(),
  -- Not before: a failed send waits here (exponential backoff) before the next attempt.
  send_after timestamptz not null default now(),
  attempts int not null default 0 check (attempts >= 0),
  -- A claim is a lease: a notifier that dies mid-send loses it and another one retries.
  claim_token uuid,
  claimed_until timestamptz,
  last_attempt_at timestamptz,
  last_error text,
  sent_at timestamptz,
  -- Settled without sending: what it announced no longer holds (e.g. the order was refunded
  -- before its payment email went out, the job was cancelled).
  skipped_reason text,
  dead_at timestamptz,
  constraint notifications_claim_is_whole check ((claim_token is null) = (claimed_until is null)),
  constraint notifications_settled_once check (
    (sent_at is not null)::int + (dead_at is not null)::int + (skipped_reason is not null)::int <= 1),
  constraint notifications_dead_have_error check (dead_at is null or last_error is not null),
  constraint notifications_job_kinds_have_job
    check (kind = 'payment_received' or job_id is not null),
  constraint notifications_payment_has_order check (kind <> 'payment_received' or order_id is not null)
);
comment on table public.notifications is
  'Transactional email outbox: one row per customer email, queued by triggers with the state change that causes it, deduplicated by dedupe_key, drained by the webhook''s notifier. Service role only.';
create index notifications_due_idx on public.notifications (send_after, id)
  where sent_at is null and dead_at is null and skipped_reason is null;
create index notifications_job_idx on public.notifications (job_id, kind) where job_id is not null;

alter table public.notifications enable row level security;
-- No policies: only the service role (which bypasses RLS) reads or writes it.

create function private.notifications_enqueue(
  kind public.notification_kind, dedupe_key text, customer_id uuid, order_id uuid, job_id uuid,
  payload jsonb default '{}'
) returns void
language sql set search_path = ''
as $$
  insert into public.notifications (kind, dedupe_key, recipient, customer_id, order_id, job_id, payload)
  select $1, $2, c.email, c.id, $4, $5, coalesce($6, '{}')
    from public.customers c where c.id = $3
  on conflict (dedupe_key) do nothing;
$$;

-- Payment received: whenever an order becomes paid (checkout, or a delayed payment
-- succeeding). An order born refunded (its refund arrived first) never gets this email.
create function private.notify_order_paid() returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
  perform private.notifications_enqueue('payment_received', 'payment_received:' || new.id,
    new.customer_id, new.id, null,
    jsonb_build_object('tier', new.tier, 'amount_total', new.amount_total, 'currency', new.currency));
  return null;
end;
$$;
create trigger orders_notify_paid after insert on public.orders
  for each row when (new.status = 'paid') execute function private.notify_order_paid();
create trigger orders_notify_paid_update after update of status on public.orders
  for each row when (new.status = 'paid' and old.status is distinct from 'paid')
  execute function private.notify_order_paid();

-- Job started (the first claim only: the key is per job) and job complete.
create function private.notify_job_status() returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
  if new.status = 'in_progress' then
    perform private.notifications_enqueue('job_started', 'job_started:' || new.id,
      new.customer_id, new.order_id, new.id, jsonb_build_object('tier', new.tier));
  elsif new.status = 'complete' then
    perform private.notifications_enqueue('job_complete', 'job_complete:' || new.id,
      new.customer_id, new.order_id, new.id, '{}');
  end if;
  return null;
end;
$$;
create trigger jobs_notify_status after update of status on public.jobs
  for each row when (new.status in ('in_progress', 'complete') and old.status is distinct from new.status)
  execute function private.notify_job_status();

-- Needs action: the first directory of a job that needs the customer. One email per job;
-- it lists every directory needing action when it is sent, and reminders follow while any
-- is still unresolved (notifications_enqueue_reminders).
create function private.notify_needs_action() returns trigger
language plpgsql security definer set search_path = ''
as $$
declare
  v_job public.jobs;
begin
  select j.* into v_job from public.jobs j where j.id = new.job_id;
  perform private.notifications_enqueue('needs_action', 'needs_action:' || new.job_id,
    v_job.customer_id, v_job.order_id, v_job.id,
    jsonb_build_object('first_directory_id', new.directory_id));
  return null;
end;
$$;
create trigger job_directories_notify_needs_action after update of status on public.job_directories
  for each row when (new.status = 'needs_action' and old.status is distinct from 'needs_action')
  execute function private.notify_needs_action();

-- Claims up to batch_size due messages for lease_seconds: oldest first, SKIP LOCKED so
-- concurrent notifiers pass each other. Each claim counts as an attempt (a notifier that
-- dies mid-send has used one).
create function public.notifications_claim(batch_size int default 10, lease_seconds int default 60)
returns setof public.notifications
language plpgsql security definer set search_path = ''
as $$
begin
  perform private.check_argument(notifications_claim.batch_size between 1 and 1000,
    'batch_size must be between 1 and 1000');
  perform private.check_argument(notifications_claim.lease_seconds between 5 and 3600,
    'lease_seconds must be between 5 and 3600');
  return query
  with due as (
    select n.id from public.notifications n
     where n.sent_at is null and n.dead_at is null and n.skipped_reason is null
       and n.send_after <= now()
       and (n.claimed_until is null or n.claimed_until < now())
     order by n.send_after, n.id
     limit notifications_claim.batch_size
       for update skip locked
  )
  update public.notifications n
     set claim_token = gen_random_uuid(),
         claimed_until = now() + make_interval(secs => notifications_claim.lease_seconds),
         attempts = n.attempts + 1,
         last_attempt_at = now()
    from due
   where n.id = due.id
  returning n.*;
end;
$$;
revoke execute on function public.notifications_claim(int, int) from public;
grant execute on function public.notifications_claim(int, int) to service_role;

-- The claimed message, locked, if claim_token is still its claim; DB001 otherwise (the
-- lease ran out and someone else has it, or it was already settled).
create function private.claimed_notification(id bigint, claim_token uuid) returns public.notifications
language plpgsql set search_path = ''
as $$
declare
  v_note public.notifications;
begin
  select n.* into v_note from public.notifications n
   where n.id = claimed_notification.id for update;
  if not found then
    raise exception 'notification % not found', claimed_notification.id using errcode = 'DB003';
  end if;
  if v_note.claim_token is distinct from claimed_notification.claim_token then
    raise exception 'notification % is not claimed by %: it is %', v_note.id,
      claimed_notification.claim_token,
      case when v_note.sent_at is not null then 'already sent'
           when v_note.dead_at is not null then 'dead'
           when v_note.skipped_reason is not null then 'skipped'
           else 'claimed by another notifier or released' end
      using errcode = 'DB001';
  end if;
  return v_note;
end;
$$;

create function public.notifications_mark_sent(id bigint, claim_token uuid)
returns public.notifications
language plpgsql security definer set search_path = ''
as $$
declare
  v_note public.notifications;
begin
  v_note := private.claimed_notification(notifications_mark_sent.id, notifications_mark_sent.claim_token);
  update public.notifications n
     set sent_at = now(), claim_token = null, claimed_until = null, last_error = null
   where n.id = v_note.id
  returning n.* into v_note;
  return v_note;
end;
$$;
revoke execute on function public.notifications_mark_sent(bigint, uuid) from public;
grant execute on function public.notifications_mark_sent(bigint, uuid) to service_role;

create function public.notifications_mark_skipped(id bigint, claim_token uuid, reason text)
returns public.notifications
language plpgsql security definer set search_path = ''
as $$
declare
  v_note public.notifications;
begin
  perform private.check_argument(btrim(coalesce(notifications_mark_skipped.reason, '')) <> '',
    'reason is required');
  v_note := private.claimed_notification(notifications_mark_skipped.id,
    notifications_mark_skipped.claim_token);
  update public.notifications n
     set skipped_reason = left(notifications_mark_skipped.reason, 2000),
         claim_token = null, claimed_until = null
   where n.id = v_note.id
  returning n.* into v_note;
  return v_note;
end;
$$;
revoke execute on function public.notifications_mark_skipped(bigint, uuid, text) from public;
grant execute on function public.notifications_mark_skipped(bigint, uuid, text) to service_role;

-- A failed attempt: the error is kept, the next attempt waits retry_base_seconds * 2^(n-1)
-- (at most an hour); after max_attempts the message is dead (kept, never retried, visible).
create function public.notifications_mark_failed(
  id bigint, claim_token uuid, error text, retry_base_seconds int default 30, max_attempts int default 8
) returns public.notifications
language plpgsql security definer set search_path = ''
as $$
declare
  v_note public.notifications;
begin
  perform private.check_argument(btrim(coalesce(notifications_mark_failed.error, '')) <> '',
    'error is required');
  perform private.check_argument(notifications_mark_failed.retry_base_seconds >= 0,
    'retry_base_seconds must not be negative');
  perform private.check_argument(notifications_mark_failed.max_attempts >= 1,
    'max_attempts must be at least 1');
  v_note := private.claimed_notification(notifications_mark_failed.id,
    notifications_mark_failed.claim_token);
  update public.notifications n
     set claim_token = null, claimed_until = null,
         last_error = left(notifications_mark_failed.error, 2000),
         send_after = now() + make_interval(secs => least(3600,
           notifications_mark_failed.retry_base_seconds * power(2, greatest(n.attempts - 1, 0)))),
         dead_at = case when n.attempts >= notifications_mark_failed.max_attempts then now() end
   where n.id = v_note.id
  returning n.* into v_note;
  return v_note;
end;
$$;
revoke execute on function public.notifications_mark_failed(bigint, uuid, text, int, int) from public;
grant execute on function public.notifications_mark_failed(bigint, uuid, text, int, int) to service_role;

-- Queues a reminder for every job that still has directories waiting on the customer, when
-- its last needs-action email went out at least remind_after_seconds ago and it has had
-- fewer than max_reminders reminders. Cancelled jobs are not chased. Returns how many.
create function public.notifications_enqueue_reminders(
  remind_after_seconds int default 172800, max_reminders int default 3
) returns int
language plpgsql security definer set search_path = ''
as $$
declare
  v_queued int;
begin
  perform private.check_argument(notifications_enqueue_reminders.remind_after_seconds > 0,
    'remind_after_seconds must be positive');
  perform private.check_argument(notifications_enqueue_reminders.max_reminders >= 0,
    'max_reminders must not be negative');
  with chased as (
    select n.job_id,
           max(n.sent_at) as last_sent,
           count(*) filter (where n.kind = 'needs_action_reminder') as reminders,
           bool_or(n.sent_at is null and n.dead_at is null and n.skipped_reason is null) as unsent
      from public.notifications n
     where n.kind in ('needs_action', 'needs_action_reminder')
     group by n.job_id
  ), due as (
    select j.id as job_id, j.customer_id, j.order_id, c.reminders
      from chased c
      join public.jobs j on j.id = c.job_id
     where not c.unsent
       and c.reminders < notifications_enqueue_reminders.max_reminders
       and c.last_sent <= now() - make_interval(secs => notifications_enqueue_reminders.remind_after_seconds)
       and j.status <> 'cancelled'
       and exists (select 1 from public.job_directories d
                    where d.job_id = j.id and d.status = 'needs_action')
  ), queued as (
    insert into public.notifications (kind, dedupe_key, recipient, customer_id, order_id, job_id, payload)
    select 'needs_action_reminder', 'needs_action_reminder:' || d.job_id || ':' || (d.reminders + 1),
           cu.email, d.customer_id, d.order_id, d.job_id,
           jsonb_build_object('reminder', d.reminders + 1)
      from due d join public.customers cu on cu.id = d.customer_id
    on conflict (dedupe_key) do nothing
    returning 1
  )
  select count(*) into v_queued from queued;
  return v_queued;
end;
$$;
revoke execute on function public.notifications_enqueue_reminders(int, int) from public;
grant execute on function public.notifications_enqueue_reminders(int, int) to service_role;
