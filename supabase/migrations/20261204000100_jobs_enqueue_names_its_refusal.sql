-- Why: jobs_enqueue refuses an order no enabled directory accepts (DB005) with a message for
-- people. The portal puts that refusal next to the category field; it now finds it by name
-- (psycopg's diag.constraint_name, as for the customers table's constraints) instead of by
-- searching the message. The function is unchanged but for the CONSTRAINT the raise names.

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

  -- The package's count of enabled directories, cheapest tier first, that accept this
  -- business's country and category.
  insert into public.job_directories (job_id, directory_id, position)
  select v_job.id, d.id, row_number() over (order by t.rank, d.priority, d.id)
    from public.directories d
    join public.tiers t on t.name = d.tier
   where d.enabled
     and t.rank <= v_tier.rank
     and (d.country is null or d.country = v_business ->> 'country')
     and (cardinality(d.categories) = 0 or (v_business ->> 'category') = any (d.categories))
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
