-- Why: a refund or dispute event for an order whose job was completing at that moment could
-- deadlock. The event locked the order FOR UPDATE and then waited for the job (to cancel it);
-- the completion held the job and, inserting its completion email and shortfall refund (both
-- reference the order), waited for a KEY SHARE lock on the order, which FOR UPDATE blocks.
-- Postgres then aborted one of them. The event now takes FOR NO KEY UPDATE (it changes the
-- order's status, never its key), which a foreign-key check does not wait for, and locks the
-- job before reading its status. Unchanged otherwise.

create or replace function private.cancel_job_for_order(order_id uuid, actor text) returns text
language plpgsql set search_path = ''
as $$
declare
  v_job public.jobs;
begin
  -- Locked before its status is read: a job completing meanwhile is seen complete, not
  -- cancelled from under its completion (which would refuse this event with DB002).
  select j.* into v_job from public.jobs j where j.order_id = cancel_job_for_order.order_id
     for update;
  if not found then
    return 'no_job';
  end if;
  if v_job.status in ('complete', 'failed', 'cancelled') then
    return 'job_' || v_job.status::text;
  end if;
  perform public.jobs_cancel(v_job.id, cancel_job_for_order.actor);
  return 'job_cancelled';
end;
$$;

create or replace function private.reverse_payment(
  payment_intent_id text, kind public.order_status, event_id text, actor text
) returns jsonb
language plpgsql set search_path = ''
as $$
declare
  v_order public.orders;
  v_to public.order_status;
  v_job_outcome text;
begin
  perform private.check_argument(coalesce(reverse_payment.payment_intent_id, '') like 'pi\_%',
    'data.object.payment_intent must be a PaymentIntent id (pi_…)');
  perform private.lock_payment_intent(reverse_payment.payment_intent_id);
  select o.* into v_order from public.orders o
   where o.stripe_payment_intent_id = reverse_payment.payment_intent_id for no key update;
  if not found then
    insert into public.payment_reversals (payment_intent_id, kind, stripe_event_id)
    values (reverse_payment.payment_intent_id, reverse_payment.kind, reverse_payment.event_id)
    on conflict on constraint payment_reversals_pkey do nothing;
    return jsonb_build_object('outcome', reverse_payment.kind::text || '_remembered');
  end if;

  -- Kept (already applied) so the record shows every reversal an order had.
  insert into public.payment_reversals (payment_intent_id, kind, stripe_event_id, applied_at)
  values (reverse_payment.payment_intent_id, reverse_payment.kind, reverse_payment.event_id, now())
  on conflict on constraint payment_reversals_pkey do nothing;

  v_to := private.reversed_status(v_order.status, reverse_payment.kind);
  if v_to <> v_order.status then
    update public.orders o set status = v_to where o.id = v_order.id returning o.* into v_order;
    perform private.audit(reverse_payment.actor, 'order.' || v_to::text, null, null, null,
      v_to::text, jsonb_build_object('order_id', v_order.id));
  end if;
  if v_order.status in ('refunded', 'disputed') then
    v_job_outcome := private.cancel_job_for_order(v_order.id, reverse_payment.actor);
  end if;
  return jsonb_strip_nulls(jsonb_build_object('outcome', 'order_' || v_order.status::text,
    'order_id', v_order.id, 'job', v_job_outcome));
end;
$$;
