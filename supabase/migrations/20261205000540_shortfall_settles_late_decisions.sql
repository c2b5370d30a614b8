-- Why: the shortfall refund was worked out once, when the job completed, with directories
-- still waiting on staff or the customer (needs_review, needs_action) counted as "in hand":
-- neither delivered nor refunded. One row per order then stopped anything more being owed,
-- so a directory settled as failed later (staff's mark failed, a customer who never acts, a
-- late answer) was paid for and neither delivered nor refunded. Review also found:
--   - a directory flagged back to review after it was replaced was counted in hand while its
--     replacement was counted delivered: one package slot counted twice;
--   - a paid order without a PaymentIntent id made the owed row break its own check, so
--     jobs_complete failed for ever instead of leaving the refund to staff.
-- Now:
--   - shortfall_refunds holds one row per settlement of an order (seq 1 at completion, then one
--     more each time an in-hand directory of the complete job settles as failed or skipped),
--     each with its own Idempotency-Key, each refunded by the refunder as before; the total
--     owed is kept at floor(paid × shortfall / promised), so rounding never adds up to more;
--   - in hand counts only directories not replaced;
--   - a refund that cannot be sent (no PaymentIntent) is written dead with the reason, for
--     staff, and completion goes through.
-- One definition of the counts (private.package_counts), read by package_promise and both
-- triggers.

alter table public.shortfall_refunds
  drop constraint shortfall_refunds_order_id_key,
  drop constraint shortfall_refunds_job_id_key,
  add column seq int not null default 1 check (seq > 0),
  add constraint shortfall_refunds_one_per_settlement unique (order_id, seq),
  drop constraint shortfall_refunds_owed_money_has_intent,
  add constraint shortfall_refunds_owed_money_has_intent
    check (amount = 0 or payment_intent is not null or dead_at is not null);
comment on column public.shortfall_refunds.seq is
  'Which settlement of the order this is: 1 when its job completed short, then one more for each directory in hand at completion that later settled undelivered.';
comment on table public.shortfall_refunds is
  'Refunds owed for the directories a complete job did not deliver: one row at completion, and one more each time a directory in hand then settles undelivered; the webhook''s refunder creates each in Stripe once (idempotency_key) and records it here.';
create index shortfall_refunds_job_idx on public.shortfall_refunds (job_id);
grant select (seq) on public.shortfall_refunds to authenticated;

-- The live counts of a job against its package (security invoker: RLS applies to the caller).
create function private.package_counts(job_id uuid)
returns table (promised int, delivered int, in_hand int, replaced int, working int)
language sql stable set search_path = ''
as $$
  select t.directory_limit,
         count(*) filter (where d.status in ('submitted', 'live'))::int,
         count(*) filter (where d.status in ('needs_review', 'needs_action')
                            and d.replaced_by is null)::int,
         count(*) filter (where d.replaced_by is not null)::int,
         count(*) filter (where d.status in ('queued', 'in_progress'))::int
    from public.jobs j
    join public.tiers t on t.name = j.tier
    left join public.job_directories d on d.job_id = j.id
   where j.id = package_counts.job_id
   group by t.directory_limit
$$;
revoke execute on function private.package_counts(uuid) from public;
grant execute on function private.package_counts(uuid) to authenticated, service_role;

-- What a job delivered against its package (as 20261205000100), the refund summed over its
-- settlements: refunded (amount and time) only once every settlement is.
create or replace function public.package_promise(job_id uuid)
returns table (promised int, delivered int, in_hand int, replaced int, working int,
               shortfall int, refund_amount int, refund_currency text, refunded_amount int,
               refunded_at timestamptz)
language sql stable security invoker set search_path = ''
as $$
  select c.promised, c.delivered, c.in_hand, c.replaced, c.working,
         coalesce(r.shortfall, greatest(c.promised - c.delivered - c.in_hand - c.working, 0)),
         r.amount, r.currency, r.refunded_amount, r.refunded_at
    from private.package_counts(package_promise.job_id) c
    left join lateral (
      select sum(s.shortfall)::int as shortfall, sum(s.amount)::int as amount,
             min(s.currency) as currency,
             case when bool_and(s.refunded_at is not null) then sum(s.refunded_amount)::int end
               as refunded_amount,
             case when bool_and(s.refunded_at is not null) then max(s.refunded_at) end
               as refunded_at
        from public.shortfall_refunds s
       where s.job_id = package_promise.job_id
      having count(*) > 0
    ) r on true
$$;

-- Owe what is short beyond what earlier settlements of the order already owe. Called with the
-- job row locked (the job's completion, or a directory of it changing status).
create function private.shortfall_settle(job public.jobs) returns void
language plpgsql security definer set search_path = ''
as $$
declare
  v_order public.orders;
  v_counts record;
  v_short int;
  v_owed_short int;
  v_owed_amount int;
  v_seq int;
  v_amount int;
  v_dead boolean;
begin
  select o.* into v_order from public.orders o where o.id = job.order_id;
  if v_order.status is distinct from 'paid' then
    return;
  end if;
  select c.* into v_counts from private.package_counts(job.id) c;
  v_short := greatest(v_counts.promised - v_counts.delivered - v_counts.in_hand - v_counts.working, 0);
  select coalesce(sum(r.shortfall), 0)::int, coalesce(sum(r.amount), 0)::int,
         coalesce(max(r.seq), 0) + 1
    into v_owed_short, v_owed_amount, v_seq
    from public.shortfall_refunds r where r.order_id = v_order.id;
  if v_short <= v_owed_short then
    return;
  end if;
  -- The total for the whole shortfall, less what is already owed: never more than paid.
  v_amount := (coalesce(v_order.amount_total, 0)::bigint * v_short / v_counts.promised)::int
              - v_owed_amount;
  v_dead := v_amount > 0 and v_order.stripe_payment_intent_id is null;
  insert into public.shortfall_refunds (order_id, job_id, seq, promised, delivered, in_hand,
                                        shortfall, amount, currency, payment_intent,
                                        idempotency_key, dead_at, last_error)
  values (v_order.id, job.id, v_seq, v_counts.promised, v_counts.delivered, v_counts.in_hand,
          v_short - v_owed_short, greatest(v_amount, 0), v_order.currency,
          v_order.stripe_payment_intent_id,
          'dbolt-shortfall-refund-' || v_order.id || case when v_seq > 1 then '-' || v_seq else '' end,
          case when v_dead then now() end,
          case when v_dead then 'the order has no Stripe PaymentIntent: refund it by hand' end);
  perform private.audit('system', 'order.shortfall_owed', job.id, null, null, null,
    jsonb_build_object('order_id', v_order.id, 'settlement', v_seq,
      'promised', v_counts.promised, 'delivered', v_counts.delivered,
      'in_hand', v_counts.in_hand, 'shortfall', v_short - v_owed_short,
      'amount', greatest(v_amount, 0), 'currency', v_order.currency));
  if v_dead then
    perform public.alerts_raise('shortfall_refund_dead',
      format('The shortfall refund for order %s cannot be sent (no PaymentIntent): refund it by hand',
        v_order.id),
      jsonb_build_object('order_id', v_order.id, 'job_id', job.id));
  end if;
end;
$$;
revoke execute on function private.shortfall_settle(public.jobs) from public, anon, authenticated;

-- On completion: the first settlement (a reopened job completing again owes only what its
-- directories in hand later settle undelivered, not a second share of the same shortfall).
create or replace function private.shortfall_owe() returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
  perform private.shortfall_settle(new);
  return null;
end;
$$;

-- A directory in hand when its job completed, settled undelivered later: owed too.
create function private.shortfall_owe_settled_directory() returns trigger
language plpgsql security definer set search_path = ''
as $$
declare
  v_job public.jobs;
begin
  select j.* into v_job from public.jobs j where j.id = new.job_id;
  if v_job.status = 'complete' then
    perform private.shortfall_settle(v_job);
  end if;
  return null;
end;
$$;
revoke execute on function private.shortfall_owe_settled_directory() from public, anon, authenticated;
create trigger job_directories_owe_when_settled_short after update of status on public.job_directories
  for each row when (old.status in ('needs_review', 'needs_action')
                     and new.status in ('failed', 'skipped'))
  execute function private.shortfall_owe_settled_directory();
