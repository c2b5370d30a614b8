-- Why: the worker side of the queue as guarded transitions. Workers reach these only through
-- the orchestrator (service role). Every lease-holding call checks the lease token and the
-- state in the same statement that changes the row, so a stale token changes nothing.

create function private.check_argument(ok boolean, message text) returns void
language plpgsql immutable set search_path = ''
as $$
begin
  if ok is not true then
    raise exception '%', message using errcode = 'DB005';
  end if;
end;
$$;

create function private.worker_seen(worker_id text, claimed_job_id uuid, current_job_id uuid)
returns void
language sql set search_path = ''
as $$
  insert into public.workers as w (id, current_job_id, jobs_claimed)
  values ($1, $3, case when $2 is null then 0 else 1 end)
  on conflict (id) do update
     set last_seen_at = now(),
         current_job_id = excluded.current_job_id,
         jobs_claimed = w.jobs_claimed + excluded.jobs_claimed;
$$;

-- Explains why a lease check failed, so the worker (and its log) knows what happened.
create function private.raise_lease_lost(job_id uuid, lease_token uuid) returns void
language plpgsql set search_path = ''
as $$
declare
  v_status public.job_status;
begin
  select j.status into v_status from public.jobs j where j.id = raise_lease_lost.job_id;
  if not found then
    raise exception 'job % not found', job_id using errcode = 'DB003';
  end if;
  raise exception 'lease % on job % is not held: the job is % %', lease_token, job_id, v_status,
    case when v_status = 'in_progress' then 'under another lease' else 'now' end
    using errcode = 'DB001';
end;
$$;

-- Moves a job's directories from one of `from_statuses` to `to_status` and audits each one,
-- for the transitions that act on a whole job (release, reap, pause, cancel).
create function private.move_directories(
  job_id uuid, from_statuses public.job_directory_status[], to_status public.job_directory_status,
  actor text, action text, message text default null
) returns int
language sql set search_path = ''
as $$
  with moved as (
    update public.job_directories d
       set status = $3, last_message = coalesce($6, d.last_message)
      from public.job_directories before_move
     where d.job_id = $1 and d.status = any ($2)
       and before_move.job_id = d.job_id and before_move.directory_id = d.directory_id
    returning d.directory_id, before_move.status as from_status
  ), audited as (
    insert into public.audit_log (actor, action, job_id, directory_id, from_status, to_status)
    select $4, $5, $1, m.directory_id, m.from_status::text, $3::text from moved m
    returning 1
  )
  select count(*)::int from audited
$$;

-- Locks and returns the job if (and only if) lease_token is its current lease.
create function private.leased_job(job_id uuid, lease_token uuid) returns public.jobs
language plpgsql set search_path = ''
as $$
declare
  v_job public.jobs;
begin
  select j.* into v_job from public.jobs j
   where j.id = leased_job.job_id and j.lease_token = leased_job.lease_token
     and j.status = 'in_progress'
   for update;
  if not found then
    perform private.raise_lease_lost(job_id, lease_token);
  end if;
  return v_job;
end;
$$;

create function public.jobs_enqueue(order_id uuid) returns public.jobs
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
      v_business ->> 'category', v_business ->> 'country' using errcode = 'DB005';
  end if;

  perform private.audit(coalesce('user:' || auth.uid()::text, 'system'), 'job.enqueued', v_job.id,
    null, null, 'pending', jsonb_build_object('order_id', v_order.id, 'directories', v_directories));
  return v_job;
end;
$$;
revoke execute on function public.jobs_enqueue(uuid) from public;
grant execute on function public.jobs_enqueue(uuid) to service_role;

create function public.jobs_next(worker_id text, lease_seconds int default 300)
returns setof public.jobs
language plpgsql security definer set search_path = ''
as $$
declare
  v_candidate public.jobs;
  v_job public.jobs;
  v_full_tiers text[] := '{}'::text[];
begin
  perform private.check_argument(btrim(coalesce(jobs_next.worker_id, '')) <> '',
    'worker_id is required');
  perform private.check_argument(jobs_next.lease_seconds between 5 and 3600,
    'lease_seconds must be between 5 and 3600');

  loop
    -- Oldest dispatchable job first. SKIP LOCKED lets concurrent claimers pass each other
    -- instead of queueing on the same row.
    select j.* into v_candidate
      from public.jobs j
     where j.status = 'pending'
       and j.tier <> all (v_full_tiers)
       and exists (select 1 from public.tiers t
                    where t.name = j.tier and t.running < t.effective_max_running)
     order by j.created_at, j.id
     limit 1
       for update of j skip locked;
    if not found then
      perform private.worker_seen(jobs_next.worker_id, null, null);
      return;
    end if;

    -- Reserve the tier slot. The conditional update takes the tier's row lock, so two
    -- claimers cannot both take its last slot (counting running jobs here would overshoot).
    update public.tiers t set running = t.running + 1
     where t.name = v_candidate.tier and t.running < t.effective_max_running;
    if found then
      update public.jobs j
         set status = 'in_progress',
             worker_id = jobs_next.worker_id,
             lease_token = gen_random_uuid(),
             lease_expires_at = now() + make_interval(secs => jobs_next.lease_seconds),
             started_at = coalesce(j.started_at, now())
       where j.id = v_candidate.id
      returning j.* into v_job;
      perform private.worker_seen(jobs_next.worker_id, v_job.id, v_job.id);
      perform private.audit('worker:' || jobs_next.worker_id, 'job.claimed', v_job.id, null,
        'pending', 'in_progress', jsonb_build_object('lease_expires_at', v_job.lease_expires_at));
      return next v_job;
      return;
    end if;
    -- That tier filled up while we looked; try the oldest job of the other tiers.
    v_full_tiers := v_full_tiers || v_candidate.tier;
  end loop;
end;
$$;
revoke execute on function public.jobs_next(text, int) from public;
grant execute on function public.jobs_next(text, int) to service_role;

create function public.jobs_heartbeat(job_id uuid, lease_token uuid, lease_seconds int default 300)
returns timestamptz
language plpgsql security definer set search_path = ''
as $$
declare
  v_job public.jobs;
begin
  perform private.check_argument(jobs_heartbeat.lease_seconds between 5 and 3600,
    'lease_seconds must be between 5 and 3600');
  update public.jobs j
     set lease_expires_at = now() + make_interval(secs => jobs_heartbeat.lease_seconds)
   where j.id = jobs_heartbeat.job_id and j.lease_token = jobs_heartbeat.lease_token
     and j.status = 'in_progress'
  returning j.* into v_job;
  if not found then
    perform private.raise_lease_lost(jobs_heartbeat.job_id, jobs_heartbeat.lease_token);
  end if;
  perform private.worker_seen(v_job.worker_id, null, v_job.id);
  return v_job.lease_expires_at;
end;
$$;
revoke execute on function public.jobs_heartbeat(uuid, uuid, int) from public;
grant execute on function public.jobs_heartbeat(uuid, uuid, int) to service_role;

-- Marks a directory as being worked on, so progress shows it and a lost lease re-queues it.
create function public.jobs_start_directory(job_id uuid, lease_token uuid, directory_id text)
returns public.job_directories
language plpgsql security definer set search_path = ''
as $$
declare
  v_job public.jobs;
  v_dir public.job_directories;
begin
  v_job := private.leased_job(jobs_start_directory.job_id, jobs_start_directory.lease_token);
  select d.* into v_dir from public.job_directories d
   where d.job_id = v_job.id and d.directory_id = jobs_start_directory.directory_id
   for update;
  if not found then
    raise exception 'directory % is not part of job %', jobs_start_directory.directory_id, v_job.id
      using errcode = 'DB003';
  end if;
  if v_dir.status = 'in_progress' then
    return v_dir;
  end if;
  if v_dir.status <> 'queued' then
    raise exception 'directory % of job % is %, not queued', v_dir.directory_id, v_job.id, v_dir.status
      using errcode = 'DB002';
  end if;
  update public.job_directories d set status = 'in_progress'
   where d.job_id = v_dir.job_id and d.directory_id = v_dir.directory_id
  returning d.* into v_dir;
  perform private.audit('worker:' || v_job.worker_id, 'directory.started', v_job.id,
    v_dir.directory_id, 'queued', 'in_progress', jsonb_build_object('attempt', v_dir.attempts + 1));
  return v_dir;
end;
$$;
revoke execute on function public.jobs_start_directory(uuid, uuid, text) from public;
grant execute on function public.jobs_start_directory(uuid, uuid, text) to service_role;

-- The directory row if this exact attempt was already reported (an empty row otherwise);
-- the same attempt reported with a different outcome is a contradiction and refused.
create function private.previous_report(
  job_id uuid, directory_id text, attempt int, outcome public.attempt_outcome, confirmed boolean
) returns public.job_directories
language plpgsql set search_path = ''
as $$
declare
  v_previous public.job_results;
  v_dir public.job_directories;
begin
  select r.* into v_previous from public.job_results r
   where r.job_id = previous_report.job_id and r.directory_id = previous_report.directory_id
     and r.attempt = previous_report.attempt;
  if not found then
    return v_dir;
  end if;
  if v_previous.outcome is distinct from previous_report.outcome
     or v_previous.confirmed <> coalesce(previous_report.confirmed, false) then
    raise exception 'attempt % of directory % in job % was already reported as %',
      v_previous.attempt, v_previous.directory_id, v_previous.job_id, v_previous.outcome
      using errcode = 'DB002';
  end if;
  select d.* into v_dir from public.job_directories d
   where d.job_id = v_previous.job_id and d.directory_id = v_previous.directory_id;
  return v_dir;
end;
$$;

create function public.jobs_report_attempt(
  job_id uuid,
  lease_token uuid,
  directory_id text,
  attempt int,
  outcome public.attempt_outcome,
  confirmed boolean default false,
  error_code text default null,
  message text default null,
  listing_url text default null,
  action_required text default null,
  duration_ms int default null,
  captcha_kind text default null,
  captcha_solved boolean default null,
  proxy text default null,
  artifacts jsonb default '{}'
) returns public.job_directories
language plpgsql security definer set search_path = ''
as $$
declare
  v_job public.jobs;
  v_dir public.job_directories;
  v_from public.job_directory_status;
  v_next public.job_directory_status;
begin
  perform private.check_argument(jobs_report_attempt.outcome is not null, 'outcome is required');
  perform private.check_argument(
    jobs_report_attempt.outcome = 'success' or not coalesce(jobs_report_attempt.confirmed, false),
    'confirmed can only be true when outcome is success');
  perform private.check_argument(
    jobs_report_attempt.outcome not in ('transient_error', 'permanent_error')
      or btrim(coalesce(jobs_report_attempt.error_code, '')) <> '',
    'error_code is required when outcome is ' || jobs_report_attempt.outcome);
  perform private.check_argument(
    jobs_report_attempt.outcome <> 'needs_action'
      or btrim(coalesce(jobs_report_attempt.action_required, '')) <> '',
    'action_required is required when outcome is needs_action');

  -- A resent report (the worker never saw our answer) is acknowledged, not applied twice.
  -- It is looked up under the job's lock, so the same report sent twice at once is not
  -- refused as a report on a finished directory; and, if the lease has moved on since, it
  -- is still acknowledged rather than refused.
  select j.* into v_job from public.jobs j
   where j.id = jobs_report_attempt.job_id and j.lease_token = jobs_report_attempt.lease_token
     and j.status = 'in_progress'
   for update;
  v_dir := private.previous_report(jobs_report_attempt.job_id, jobs_report_attempt.directory_id,
    jobs_report_attempt.attempt, jobs_report_attempt.outcome, jobs_report_attempt.confirmed);
  if v_dir.job_id is not null then
    return v_dir;
  end if;
  if v_job.id is null then
    perform private.raise_lease_lost(jobs_report_attempt.job_id, jobs_report_attempt.lease_token);
  end if;
  select d.* into v_dir from public.job_directories d
   where d.job_id = v_job.id and d.directory_id = jobs_report_attempt.directory_id
   for update;
  if not found then
    raise exception 'directory % is not part of job %', jobs_report_attempt.directory_id, v_job.id
      using errcode = 'DB003';
  end if;
  if v_dir.status not in ('queued', 'in_progress') then
    -- Above all: a submitted directory is never submitted (or re-queued) again.
    raise exception 'directory % of job % is % and takes no more attempts', v_dir.directory_id,
      v_job.id, v_dir.status using errcode = 'DB002';
  end if;
  v_from := v_dir.status;
  perform private.check_argument(jobs_report_attempt.attempt = v_dir.attempts + 1,
    format('attempt must be %s for directory %s (got %s)', v_dir.attempts + 1, v_dir.directory_id,
      jobs_report_attempt.attempt));

  v_next := case jobs_report_attempt.outcome
    when 'success' then
      case when jobs_report_attempt.confirmed then 'submitted' else 'needs_review' end
    when 'needs_action' then 'needs_action'
    when 'permanent_error' then 'failed'
    when 'skipped' then 'skipped'
    when 'transient_error' then
      case when jobs_report_attempt.attempt >= v_dir.max_attempts then 'failed' else 'queued' end
  end::public.job_directory_status;

  insert into public.job_results (
    job_id, directory_id, attempt, outcome, confirmed, error_code, message, listing_url,
    action_required, duration_ms, captcha_kind, captcha_solved, proxy, artifacts, worker_id
  ) values (
    v_job.id, v_dir.directory_id, jobs_report_attempt.attempt, jobs_report_attempt.outcome,
    coalesce(jobs_report_attempt.confirmed, false), jobs_report_attempt.error_code,
    jobs_report_attempt.message, jobs_report_attempt.listing_url,
    jobs_report_attempt.action_required, jobs_report_attempt.duration_ms,
    jobs_report_attempt.captcha_kind, jobs_report_attempt.captcha_solved,
    jobs_report_attempt.proxy, coalesce(jobs_report_attempt.artifacts, '{}'), v_job.worker_id
  );

  update public.job_directories d
     set status = v_next,
         attempts = jobs_report_attempt.attempt,
         last_outcome = jobs_report_attempt.outcome,
         last_error_code = jobs_report_attempt.error_code,
         last_message = jobs_report_attempt.message,
         listing_url = coalesce(jobs_report_attempt.listing_url, d.listing_url),
         action_required = case when v_next = 'needs_action'
                                then jobs_report_attempt.action_required end,
         submitted_at = case when v_next = 'submitted' then now() else d.submitted_at end
   where d.job_id = v_dir.job_id and d.directory_id = v_dir.directory_id
  returning d.* into v_dir;

  perform private.audit('worker:' || v_job.worker_id, 'directory.attempt_reported', v_job.id,
    v_dir.directory_id, v_from::text, v_next::text,
    jsonb_strip_nulls(jsonb_build_object('attempt', jobs_report_attempt.attempt,
      'outcome', jobs_report_attempt.outcome, 'error_code', jobs_report_attempt.error_code)));
  return v_dir;
end;
$$;
revoke execute on function public.jobs_report_attempt(uuid, uuid, text, int, public.attempt_outcome,
  boolean, text, text, text, text, int, text, boolean, text, jsonb) from public;
grant execute on function public.jobs_report_attempt(uuid, uuid, text, int, public.attempt_outcome,
  boolean, text, text, text, text, int, text, boolean, text, jsonb) to service_role;

-- The summary customers download (seed §7), computed from the attempt log. PL/pgSQL so its
-- two queries are planned once per session, not on every completion.
create function private.job_summary(job_id uuid) returns jsonb
language plpgsql stable set search_path = ''
as $$
declare
  v_directories jsonb;
  v_attempts jsonb;
  v_job public.jobs;
begin
  select jsonb_build_object(
           'directories', coalesce(sum(s.n), 0),
           'by_status', coalesce(jsonb_object_agg(s.status, s.n), '{}'),
           'successes', coalesce(sum(s.n) filter (where s.status in ('submitted', 'live')), 0),
           'failures', coalesce(sum(s.n) filter (where s.status = 'failed'), 0))
    into v_directories
    from (select d.status, count(*) as n from public.job_directories d
           where d.job_id = job_summary.job_id group by d.status) s;
  select jsonb_build_object('attempts', count(*), 'retries', count(*) filter (where r.attempt > 1))
    into v_attempts
    from public.job_results r where r.job_id = job_summary.job_id;
  select j.* into v_job from public.jobs j where j.id = job_summary.job_id;
  return v_directories || v_attempts || jsonb_build_object(
    'started_at', v_job.started_at,
    'completed_at', v_job.completed_at,
    'seconds_to_complete', extract(epoch from v_job.completed_at - v_job.created_at)::bigint);
end;
$$;

create function public.jobs_complete(job_id uuid, lease_token uuid) returns public.jobs
language plpgsql security definer set search_path = ''
as $$
declare
  v_job public.jobs;
  v_worker text;
  v_remaining int;
begin
  v_job := private.leased_job(jobs_complete.job_id, jobs_complete.lease_token);
  v_worker := v_job.worker_id;
  select count(*) into v_remaining from public.job_directories d
   where d.job_id = v_job.id and d.status in ('queued', 'in_progress');
  if v_remaining > 0 then
    raise exception 'job % still has % directories to do', v_job.id, v_remaining
      using errcode = 'DB002';
  end if;

  update public.jobs j
     set status = 'complete', completed_at = now(),
         lease_token = null, lease_expires_at = null, worker_id = null
   where j.id = v_job.id
  returning j.* into v_job;

  insert into public.job_reports as r (job_id, summary)
  values (v_job.id, private.job_summary(v_job.id))
  on conflict on constraint job_reports_pkey
    do update set summary = excluded.summary, created_at = now();

  perform private.worker_seen(v_worker, null, null);
  perform private.audit('worker:' || v_worker,
    'job.completed', v_job.id, null, 'in_progress', 'complete', '{}');
  return v_job;
end;
$$;
revoke execute on function public.jobs_complete(uuid, uuid) from public;
grant execute on function public.jobs_complete(uuid, uuid) to service_role;
