-- Why: a shortfall refund the refunder gave up on (Stripe refused it, or it kept failing) was
-- only marked dead on its row and logged: nothing in the audit trail and no alert, though the
-- staff overview's "refund failed" is the only place staff would notice, and the customer is
-- owed money. Giving up now writes an audit row and raises (or refreshes) the
-- `shortfall_refund_dead` alert, whose text tells staff to look the order up in Stripe first
-- (a call that timed out may still have refunded it). Unchanged otherwise.

create or replace function public.shortfall_refunds_mark_failed(
  id bigint, claim_token uuid, error text, retry_base_seconds int default 30, max_attempts int default 8
) returns public.shortfall_refunds
language plpgsql security definer set search_path = ''
as $$
declare
  v_row public.shortfall_refunds;
begin
  perform private.check_argument(btrim(coalesce(shortfall_refunds_mark_failed.error, '')) <> '',
    'error is required');
  perform private.check_argument(shortfall_refunds_mark_failed.retry_base_seconds >= 0,
    'retry_base_seconds must not be negative');
  perform private.check_argument(shortfall_refunds_mark_failed.max_attempts >= 1,
    'max_attempts must be at least 1');
  select r.* into v_row from public.shortfall_refunds r
   where r.id = shortfall_refunds_mark_failed.id for update;
  if not found then
    raise exception 'shortfall refund % not found', shortfall_refunds_mark_failed.id
      using errcode = 'DB003';
  end if;
  if v_row.claim_token is distinct from shortfall_refunds_mark_failed.claim_token then
    raise exception 'shortfall refund % is not claimed by %', v_row.id,
      shortfall_refunds_mark_failed.claim_token using errcode = 'DB001';
  end if;
  update public.shortfall_refunds r
     set claim_token = null, claimed_until = null,
         last_error = left(shortfall_refunds_mark_failed.error, 2000),
         send_after = now() + make_interval(secs => least(3600,
           shortfall_refunds_mark_failed.retry_base_seconds * power(2, greatest(r.attempts - 1, 0)))),
         dead_at = case when r.attempts >= shortfall_refunds_mark_failed.max_attempts then now() end
   where r.id = v_row.id
  returning r.* into v_row;
  if v_row.dead_at is not null then
    -- Given up: staff must settle it by hand, so it is in the audit trail and an open alert.
    perform private.audit('system', 'order.shortfall_refund_dead', v_row.job_id, null, null, null,
      jsonb_build_object('order_id', v_row.order_id, 'settlement', v_row.seq,
        'amount', v_row.amount, 'currency', v_row.currency, 'attempts', v_row.attempts,
        'error', v_row.last_error));
    perform public.alerts_raise('shortfall_refund_dead',
      format('The shortfall refund for order %s (settlement %s) was given up after %s attempts: check Stripe for order %s before refunding by hand',
        v_row.order_id, v_row.seq, v_row.attempts, v_row.order_id),
      jsonb_build_object('order_id', v_row.order_id, 'job_id', v_row.job_id, 'seq', v_row.seq));
  end if;
  return v_row;
end;
$$;
