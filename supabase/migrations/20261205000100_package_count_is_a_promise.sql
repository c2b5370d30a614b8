-- Why: the package count is a promise (issue 13). Every package used to get whatever the
-- catalogue held (24 directories for a 50, 100 or 300 package) and nothing said so. Now:
--   * one definition says which directories a package may use (private.directory_eligible),
--     shared by jobs_enqueue and the pricing page's "directories today"
--     (public.tiers_on_offer), so the page never promises more than exist;
--   * a directory that cannot take the business (private.directory_cannot_take_business) is
--     replaced by the next eligible one, in the database, whatever writes the status;
--   * whatever still falls short when the job completes is owed back pro rata: an outbox
--     row (public.shortfall_refunds) written in the completion's own transaction, drained by
--     the webhook service through Stripe's refund API (one idempotency key per order).

-- The failures that say "this directory cannot take this business" rather than "it did
-- not work this time": the only ones that earn a replacement. One place, so the worker's
-- codes, the replacement trigger and the docs cannot drift apart.
create function private.directory_cannot_take_business(code text) returns boolean
language sql immutable set search_path = ''
as $$
  select coalesce(code in (
    'duplicate_listing', 'already_listed', 'form_gone', 'country_not_accepted',
    'phone_not_accepted', 'category_unmatched', 'category_refused'), false)
$$;
comment on function private.directory_cannot_take_business(text) is
  'True for a failure code meaning the directory cannot take this business (it is replaced, not retried).';

-- Which directories a package may use: enabled, in the package's tier or a cheaper one, and
-- accepting the business's country and category. business null = any business (the pricing
-- page, before anyone has filled in the form): only the package rule applies.
create function private.directory_eligible(d public.directories, package public.tiers, business jsonb)
returns boolean
language sql stable set search_path = ''
as $$
  select d.enabled
     and (select t.rank from public.tiers t where t.name = d.tier) <= package.rank
     and (business is null or d.country is null or d.country = business ->> 'country')
     and (business is null or cardinality(d.categories) = 0
          or (business ->> 'category') = any (d.categories))
$$;

-- The pricing page: each package's count, and how many directories it delivers today from
-- the enabled catalogue (never more than exist). A signed-in visitor reads it as themself;
-- the page reads it as the service role for anonymous visitors (anon executes nothing).
create function public.tiers_on_offer()
returns table (name text, rank int, directory_limit int, directories_today int)
language sql stable security definer set search_path = ''
as $$
  select t.name, t.rank, t.directory_limit,
         least(t.directory_limit,
               (select count(*) from public.directories d
                 where private.directory_eligible(d, t, null)))::int
    from public.tiers t
   order by t.rank
$$;
revoke execute on function public.tiers_on_offer() from public, anon;
grant execute on function public.tiers_on_offer() to authenticated, service_role;

-- jobs_enqueue, from its latest definition (20261204000100), with the eligibility rule
-- read from private.directory_eligible instead of written out here.
create or replace function public.jobs_enqueue(order_id uuid) returns public.jobs
language plpgsql security definer set search_path = ''
as $$
declare
  v_order public.orders;
  v_tier public.tiers;
  v_business jsonb;
  v_missing text[];
  v_job public.jobs;
  v_directories int;
begin
  select o.* into v_order from public.orders o where o.id = jobs_enqueue.order_id for update;
  if not found then
    raise exception 'order % not found', jobs_enqueue.order_id using errcode = 'DB003';
  end if;
  if v_order.status <> 'paid' then
    raise exception 'order % is %, only a paid order can be enqueued', v_order.id, v_order.status
      using errcode = 'DB002';
  end if;
  if exists (select 1 from public.jobs j where j.order_id = v_order.id) then
    raise exception 'order % already has a job (one job per order)', v_order.id using errcode = 'DB002';
  end if;

  select private.customer_business(c) into v_business
    from public.customers c where c.id = v_order.customer_id;
  v_missing := private.business_missing_fields(v_business);
  if cardinality(v_missing) > 0 then
    raise exception 'business info incomplete for order %: missing %', v_order.id,
      array_to_string(v_missing, ', ')
      using errcode = 'DB004', detail = array_to_string(v_missing, ',');
  end if;

  select t.* into v_tier from public.tiers t where t.name = v_order.tier;
  insert into public.jobs (order_id, customer_id, tier, business_snapshot)
  values (v_order.id, v_order.customer_id, v_order.tier, v_business)
  returning * into v_job;

  -- The package's count of eligible directories, cheapest tier first. Fewer may exist: the
  -- shortfall is refunded when the job completes (private.shortfall_owe).
  insert into public.job_directories (job_id, directory_id, position)
  select v_job.id, d.id, row_number() over (order by t.rank, d.priority, d.id)
    from public.directories d
    join public.tiers t on t.name = d.tier
   where private.directory_eligible(d, v_tier, v_business)
   order by t.rank, d.priority, d.id
   limit v_tier.directory_limit;
  get diagnostics v_directories = row_count;
  if v_directories = 0 then
    raise exception 'no enabled directory accepts a % business in %',
      v_business ->> 'category', v_business ->> 'country'
      using errcode = 'DB005', constraint = 'jobs_enqueue_a_directory_accepts_the_business';
  end if;

  perform private.audit(coalesce('user:' || auth.uid()::text, 'system'), 'job.enqueued', v_job.id,
    null, null, 'pending', jsonb_build_object('order_id', v_order.id, 'directories', v_directories));
  return v_job;
end;
$$;
revoke execute on function public.jobs_enqueue(uuid) from public;
grant execute on function public.jobs_enqueue(uuid) to service_role;

-- Replacement ------------------------------------------------------------------------------

alter table public.job_directories
  add column replaced_by text,
  add constraint job_directories_replaced_by_is_in_the_job
    foreign key (job_id, replaced_by) references public.job_directories (job_id, directory_id),
  add constraint job_directories_replaced_once unique (job_id, replaced_by);
comment on column public.job_directories.replaced_by is
  'The directory added to the job in this one''s place because it could not take the business (private.replace_directory).';

-- A directory that cannot take the business (a worker's skip, or a failure whose code says
-- so) is replaced by the next eligible enabled directory not yet in the job, queued at the
-- next position, while any remain. Not replaced: a skip that no attempt reported (jobs_cancel
-- and staff moves leave attempts unchanged), a job that is not being worked (cancelled,
-- complete, failed), and a directory already replaced (a staff retry that fails it again).
-- A trigger rather than a line in jobs_report_attempt, so every writer of the status gets it.
create function private.replace_directory() returns trigger
language plpgsql security definer set search_path = ''
as $$
declare
  v_job public.jobs;
  v_tier public.tiers;
  v_next text;
begin
  if new.replaced_by is not null then
    return null;
  end if;
  if not ((new.status = 'skipped' and new.attempts > old.attempts)
          or (new.status = 'failed' and private.directory_cannot_take_business(new.last_error_code))) then
    return null;
  end if;
  -- Locks the job: two directories of one job replaced at once pick different successors.
  select j.* into v_job from public.jobs j where j.id = new.job_id for update;
  if v_job.status not in ('pending', 'in_progress', 'paused') then
    return null;
  end if;
  select t.* into v_tier from public.tiers t where t.name = v_job.tier;

  select d.id into v_next
    from public.directories d
    join public.tiers t on t.name = d.tier
   where private.directory_eligible(d, v_tier, v_job.business_snapshot)
     and not exists (select 1 from public.job_directories jd
                      where jd.job_id = v_job.id and jd.directory_id = d.id)
   order by t.rank, d.priority, d.id
   limit 1;
  if v_next is null then
    perform private.audit('system', 'job_directory.not_replaced', v_job.id, new.directory_id,
      null, null, jsonb_build_object('reason', 'no eligible directory left',
        'error_code', new.last_error_code));
    return null;
  end if;

  insert into public.job_directories (job_id, directory_id, position)
  select v_job.id, v_next, coalesce(max(jd.position), 0) + 1
    from public.job_directories jd where jd.job_id = v_job.id;
  update public.job_directories jd set replaced_by = v_next
   where jd.job_id = new.job_id and jd.directory_id = new.directory_id;
  perform private.audit('system', 'job_directory.replaced', v_job.id, new.directory_id,
    new.status::text, null, jsonb_strip_nulls(jsonb_build_object('replaced_by', v_next,
      'error_code', new.last_error_code)));
  perform private.audit('system', 'job_directory.added', v_job.id, v_next, null, 'queued',
    jsonb_build_object('replacing', new.directory_id));
  return null;
end;
$$;
create trigger job_directories_replace_when_not_taken after update of status on public.job_directories
  for each row when (new.status in ('skipped', 'failed') and old.status is distinct from new.status)
  execute function private.replace_directory();

-- Shortfall refunds (an outbox) -------------------------------------------------------------

create table public.shortfall_refunds (
  id bigint generated always as identity primary key,
  order_id uuid not null unique references public.orders (id),
  job_id uuid not null unique references public.jobs (id),
  promised int not null check (promised > 0),
  delivered int not null check (delivered >= 0),
  -- Submitted on the customer's behalf but not yet confirmed (needs_review, needs_action):
  -- neither delivered nor refunded (staff or the customer settle them).
  in_hand int not null check (in_hand >= 0),
  shortfall int not null check (shortfall > 0 and shortfall <= promised),
  -- floor(order amount × shortfall / promised): never more than was paid for the missing part.
  amount int not null check (amount >= 0),
  currency text,
  payment_intent text,
  -- Sent as Stripe's Idempotency-Key: a retried or crashed refund call creates one refund.
  idempotency_key text not null unique,
  created_at timestamptz not null default now(),
  send_after timestamptz not null default now(),
  attempts int not null default 0 check (attempts >= 0),
  claim_token uuid,
  claimed_until timestamptz,
  last_attempt_at timestamptz,
  last_error text,
  stripe_refund_id text unique check (stripe_refund_id like 're_%'),
  refunded_amount int check (refunded_amount > 0),
  refunded_at timestamptz,
  dead_at timestamptz,
  constraint shortfall_refunds_claim_is_whole check ((claim_token is null) = (claimed_until is null)),
  constraint shortfall_refunds_refund_is_whole check (
    (stripe_refund_id is null) = (refunded_at is null) and (refunded_at is null) = (refunded_amount is null)),
  constraint shortfall_refunds_settled_once check (refunded_at is null or dead_at is null),
  constraint shortfall_refunds_dead_have_error check (dead_at is null or last_error is not null),
  constraint shortfall_refunds_owed_money_has_intent check (amount = 0 or payment_intent is not null)
);
comment on table public.shortfall_refunds is
  'Refund owed for the directories a complete job did not deliver, one per order, written with the completion; the webhook''s refunder creates it in Stripe once (idempotency_key) and records the refund here.';
create index shortfall_refunds_due_idx on public.shortfall_refunds (send_after, id)
  where refunded_at is null and dead_at is null and amount > 0;

alter table public.shortfall_refunds enable row level security;
-- Customers read their own order's shortfall (job page, report); not the queue's columns.
grant select (id, order_id, job_id, promised, delivered, in_hand, shortfall, amount, currency,
              created_at, refunded_amount, refunded_at)
  on public.shortfall_refunds to authenticated;
grant select on public.shortfall_refunds to dbolt_staff;
-- One audience per policy (as 20261205000050): customers their own, staff (dbolt_staff) all.
create policy "customers can read their own shortfall refunds"
  on public.shortfall_refunds for select to authenticated
  using (order_id in (select o.id from public.orders o
                       where o.customer_id = (select private.current_customer_id())));
create policy "staff can read all shortfall refunds"
  on public.shortfall_refunds for select to dbolt_staff
  using ((select private.is_staff()));

-- What a job delivered against its package, in one definition: the job page, the
-- completion email, the CSV and PDF reports and the shortfall itself all read it.
--   promised   the package's directory_limit
--   delivered  directories submitted or live (the site accepted the business)
--   in_hand    submitted but unconfirmed (needs_review) or waiting on the customer (needs_action)
--   replaced   directories that could not take the business and were replaced
--   shortfall  promised - delivered - in_hand, once nothing is queued or in progress
-- Security invoker: a customer reads only their own job through RLS.
create function public.package_promise(job_id uuid)
returns table (promised int, delivered int, in_hand int, replaced int, working int,
               shortfall int, refund_amount int, refund_currency text, refunded_amount int,
               refunded_at timestamptz)
language sql stable security invoker set search_path = ''
as $$
  with counts as (
    select t.directory_limit as promised,
           count(*) filter (where d.status in ('submitted', 'live'))::int as delivered,
           count(*) filter (where d.status in ('needs_review', 'needs_action'))::int as in_hand,
           count(*) filter (where d.replaced_by is not null)::int as replaced,
           count(*) filter (where d.status in ('queued', 'in_progress'))::int as working
      from public.jobs j
      join public.tiers t on t.name = j.tier
      left join public.job_directories d on d.job_id = j.id
     where j.id = package_promise.job_id
     group by t.directory_limit
  )
  select c.promised, c.delivered, c.in_hand, c.replaced, c.working,
         coalesce(r.shortfall, greatest(c.promised - c.delivered - c.in_hand - c.working, 0)),
         r.amount, r.currency, r.refunded_amount, r.refunded_at
    from counts c
    left join public.shortfall_refunds r on r.job_id = package_promise.job_id
$$;
revoke execute on function public.package_promise(uuid) from public, anon;
grant execute on function public.package_promise(uuid) to authenticated, service_role;

-- On completion of a paid order's job: the shortfall, owed pro rata, in this transaction.
-- Once per order (a staff retry that completes the job again owes nothing more: what it
-- delivers on top is the customer's). Only `complete` owes automatically: a cancelled job
-- is cancelled by staff, whose refund (full or partial, in Stripe) is their decision, or by
-- the order's own refund or dispute, which already returned the money.
create function private.shortfall_owe() returns trigger
language plpgsql security definer set search_path = ''
as $$
declare
  v_order public.orders;
  v_promise record;
  v_amount int;
begin
  select o.* into v_order from public.orders o where o.id = new.order_id;
  if v_order.status <> 'paid' then
    return null;
  end if;
  select p.* into v_promise from public.package_promise(new.id) p;
  if v_promise.shortfall <= 0 then
    return null;
  end if;
  v_amount := (coalesce(v_order.amount_total, 0)::bigint * v_promise.shortfall
               / v_promise.promised)::int;
  insert into public.shortfall_refunds (order_id, job_id, promised, delivered, in_hand, shortfall,
                                        amount, currency, payment_intent, idempotency_key)
  values (v_order.id, new.id, v_promise.promised, v_promise.delivered, v_promise.in_hand,
          v_promise.shortfall, v_amount, v_order.currency, v_order.stripe_payment_intent_id,
          'dbolt-shortfall-refund-' || v_order.id)
  on conflict (order_id) do nothing;
  if found then
    perform private.audit('system', 'order.shortfall_owed', new.id, null, null, null,
      jsonb_build_object('order_id', v_order.id, 'promised', v_promise.promised,
        'delivered', v_promise.delivered, 'in_hand', v_promise.in_hand,
        'shortfall', v_promise.shortfall, 'amount', v_amount, 'currency', v_order.currency));
  end if;
  return null;
end;
$$;
create trigger jobs_owe_shortfall after update of status on public.jobs
  for each row when (new.status = 'complete' and old.status is distinct from 'complete')
  execute function private.shortfall_owe();

-- The refunder's claim: due owed refunds, with a lease, SKIP LOCKED (as notifications_claim).
create function public.shortfall_refunds_claim(batch_size int default 10, lease_seconds int default 60)
returns setof public.shortfall_refunds
language plpgsql security definer set search_path = ''
as $$
begin
  perform private.check_argument(shortfall_refunds_claim.batch_size between 1 and 1000,
    'batch_size must be between 1 and 1000');
  perform private.check_argument(shortfall_refunds_claim.lease_seconds between 5 and 3600,
    'lease_seconds must be between 5 and 3600');
  return query
  with due as (
    select r.id from public.shortfall_refunds r
     where r.refunded_at is null and r.dead_at is null and r.amount > 0
       and r.send_after <= now()
       and (r.claimed_until is null or r.claimed_until < now())
     order by r.send_after, r.id
     limit shortfall_refunds_claim.batch_size
       for update skip locked
  )
  update public.shortfall_refunds r
     set claim_token = gen_random_uuid(),
         claimed_until = now() + make_interval(secs => shortfall_refunds_claim.lease_seconds),
         attempts = r.attempts + 1,
         last_attempt_at = now()
    from due
   where r.id = due.id
  returning r.*;
end;
$$;
revoke execute on function public.shortfall_refunds_claim(int, int) from public, anon, authenticated;
grant execute on function public.shortfall_refunds_claim(int, int) to service_role;

-- Stripe made the refund: recorded once. A refund Stripe reports (it answered, then the
-- lease ran out and another refunder's call was answered from Stripe's idempotency cache)
-- is a fact and is recorded even without the claim, as long as it is the same refund.
create function public.shortfall_refunds_mark_refunded(
  id bigint, claim_token uuid, stripe_refund_id text, amount int
) returns public.shortfall_refunds
language plpgsql security definer set search_path = ''
as $$
declare
  v_row public.shortfall_refunds;
  v_by_claim boolean;
begin
  perform private.check_argument(coalesce(shortfall_refunds_mark_refunded.stripe_refund_id, '') like 're\_%',
    'stripe_refund_id must be a Stripe refund id (re_…)');
  perform private.check_argument(coalesce(shortfall_refunds_mark_refunded.amount, 0) > 0,
    'amount must be positive');
  select r.* into v_row from public.shortfall_refunds r
   where r.id = shortfall_refunds_mark_refunded.id for update;
  if not found then
    raise exception 'shortfall refund % not found', shortfall_refunds_mark_refunded.id
      using errcode = 'DB003';
  end if;
  if v_row.refunded_at is not null then
    if v_row.stripe_refund_id = shortfall_refunds_mark_refunded.stripe_refund_id then
      return v_row;  -- the same refund reported again
    end if;
    raise exception 'shortfall refund % is already recorded as %', v_row.id, v_row.stripe_refund_id
      using errcode = 'DB002';
  end if;
  -- Who recorded it: the claim holder, or a refunder whose lease had run out (a fact either way).
  v_by_claim := v_row.claim_token is not distinct from shortfall_refunds_mark_refunded.claim_token;
  update public.shortfall_refunds r
     set stripe_refund_id = shortfall_refunds_mark_refunded.stripe_refund_id,
         refunded_amount = shortfall_refunds_mark_refunded.amount,
         refunded_at = now(), claim_token = null, claimed_until = null, last_error = null,
         dead_at = null
   where r.id = v_row.id
  returning r.* into v_row;
  perform private.audit('system', 'order.shortfall_refunded', v_row.job_id, null, null, null,
    jsonb_build_object('order_id', v_row.order_id, 'stripe_refund_id', v_row.stripe_refund_id,
      'amount', v_row.refunded_amount, 'currency', v_row.currency, 'by_claim', v_by_claim));
  return v_row;
end;
$$;
revoke execute on function public.shortfall_refunds_mark_refunded(bigint, uuid, text, int)
  from public, anon, authenticated;
grant execute on function public.shortfall_refunds_mark_refunded(bigint, uuid, text, int) to service_role;

-- Stripe refused or could not be reached: kept with the error, retried with backoff, dead
-- (for staff, with an alert on the overview) after max_attempts.
create function public.shortfall_refunds_mark_failed(
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
  return v_row;
end;
$$;
revoke execute on function public.shortfall_refunds_mark_failed(bigint, uuid, text, int, int)
  from public, anon, authenticated;
grant execute on function public.shortfall_refunds_mark_failed(bigint, uuid, text, int, int) to service_role;

revoke execute on function private.directory_cannot_take_business(text) from public;
revoke execute on function private.directory_eligible(public.directories, public.tiers, jsonb) from public;
