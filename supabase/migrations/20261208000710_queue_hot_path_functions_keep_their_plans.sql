-- Why: a LANGUAGE sql function that cannot be inlined (these all pin search_path, as they
-- must) is parsed, analysed and planned again on every call made from PL/pgSQL or from a
-- trigger: PostgreSQL caches its plan only for the rest of the calling query. On the queue's
-- hot path (one claim -> five reports -> complete) that re-planning was ~40 % of the
-- backend's CPU (perf, bench/queue): audit rows, the worker's row, notification rows, the
-- directory's next status, the CHECK on jobs.business_snapshot (evaluated on every update
-- of a job, though the snapshot never changes after it is taken), the package counts at
-- completion, the attempt's result class. The same bodies in PL/pgSQL keep their plans for
-- the session. Nothing else changes: same signatures, volatility, results and errors.
-- Bodies from their latest definitions: audit (20261129001200), worker_seen
-- (20261129001200), notifications_enqueue (20261129001800), status_after (20261206000200),
-- business_missing_fields and country_requires_postcode (20261207000300), package_counts
-- (20261206000510), attempt_result (20261207000100).

create or replace function private.audit(actor text, action text, job_id uuid,
  directory_id text default null, from_status text default null, to_status text default null,
  details jsonb default '{}')
returns void
language plpgsql set search_path = ''
as $$
begin
  insert into public.audit_log (actor, action, job_id, directory_id, from_status, to_status, details)
  values ($1, $2, $3, $4, $5, $6, coalesce($7, '{}'));
end;
$$;
revoke execute on function private.audit(text, text, uuid, text, text, text, jsonb)
  from public, anon, authenticated;

create or replace function private.worker_seen(worker_id text, claimed_job_id uuid,
  current_job_id uuid)
returns void
language plpgsql set search_path = ''
as $$
begin
  insert into public.workers as w (id, current_job_id, jobs_claimed)
  values ($1, $3, case when $2 is null then 0 else 1 end)
  on conflict on constraint workers_pkey do update
     set last_seen_at = now(),
         current_job_id = excluded.current_job_id,
         jobs_claimed = w.jobs_claimed + excluded.jobs_claimed;
end;
$$;
revoke execute on function private.worker_seen(text, uuid, uuid) from public, anon, authenticated;

create or replace function private.notifications_enqueue(kind public.notification_kind,
  dedupe_key text, customer_id uuid, order_id uuid, job_id uuid, payload jsonb default '{}')
returns void
language plpgsql set search_path = ''
as $$
begin
  insert into public.notifications (kind, dedupe_key, recipient, customer_id, order_id, job_id, payload)
  select $1, $2, c.email, c.id, $4, $5, coalesce($6, '{}')
    from public.customers c where c.id = $3
  on conflict on constraint notifications_dedupe_key_key do nothing;
end;
$$;
revoke execute on function private.notifications_enqueue(public.notification_kind, text, uuid,
  uuid, uuid, jsonb) from public, anon, authenticated;

create or replace function private.status_after(attempt public.job_results, max_attempts int,
  fenced boolean)
returns public.job_directory_status
language plpgsql immutable set search_path = ''
as $$
begin
  return case $1.outcome
    when 'success' then case when $1.confirmed then 'submitted' else 'needs_review' end
    when 'needs_action' then 'needs_action'
    when 'permanent_error' then 'failed'
    when 'skipped' then 'skipped'
    when 'parked' then 'waiting'
    when 'already_listed' then 'already_listed'
    -- A transient error after the fence with no answer from the site (a timeout, a broken
    -- connection) may hide a listing that was made: not retried blindly. A site that
    -- answered with a refusal (rate limited, temporarily unavailable, captcha rejected)
    -- did not take the business, so that attempt is retried as usual.
    when 'transient_error' then
      case when $3 and $1.error_code not in ('rate_limited', 'site_unavailable', 'captcha_unsolved')
           then 'needs_review'
           when $1.attempt >= $2 then 'failed' else 'queued' end
  end::public.job_directory_status;
end;
$$;
revoke execute on function private.status_after(public.job_results, int, boolean)
  from public, anon, authenticated;

create or replace function private.country_requires_postcode(country text) returns boolean
language plpgsql immutable set search_path = ''
as $$
begin
  -- No country at all: the postcode is reported missing with it, as before.
  return country is null or country = any (array[
    'AS', 'AT', 'AU', 'AX', 'BE', 'BL', 'BR', 'CA', 'CH', 'CN', 'CZ', 'DE', 'DK', 'EE', 'ES',
    'FI', 'FK', 'FM', 'FR', 'GB', 'GF', 'GG', 'GL', 'GP', 'GR', 'GS', 'GU', 'HU', 'IM', 'IN',
    'IO', 'IT', 'JE', 'JP', 'KR', 'LI', 'LT', 'LU', 'LV', 'MF', 'MH', 'MP', 'MQ', 'MX', 'MY',
    'NC', 'NL', 'NO', 'NZ', 'PF', 'PL', 'PM', 'PN', 'PR', 'PT', 'PW', 'RE', 'RO', 'RU', 'SE',
    'SG', 'SH', 'SJ', 'SK', 'SM', 'TC', 'TR', 'TW', 'UA', 'US', 'VI', 'WF', 'YT', 'ZA'
  ]);
end;
$$;
revoke execute on function private.country_requires_postcode(text) from public, anon;
grant execute on function private.country_requires_postcode(text) to authenticated, service_role;

create or replace function private.business_missing_fields(business jsonb) returns text[]
language plpgsql immutable set search_path = ''
as $$
begin
  return (
    select coalesce(array_agg(required.field order by required.position), '{}')
      from unnest(array[
        'business_name', 'street_address', 'city', 'region', 'postal_code', 'country',
        'phone', 'website', 'category', 'hours'
      ]) with ordinality as required(field, position)
     where (required.field <> 'postal_code'
            or private.country_requires_postcode(business ->> 'country'))
       and (business is null
        or jsonb_typeof(business -> required.field) is null
        or jsonb_typeof(business -> required.field) = 'null'
        or (jsonb_typeof(business -> required.field) = 'string'
            and btrim(business ->> required.field) = '')
        or (required.field = 'hours' and business -> required.field = '{}'::jsonb)));
end;
$$;
revoke execute on function private.business_missing_fields(jsonb) from public, anon;
grant execute on function private.business_missing_fields(jsonb) to authenticated, service_role;

create or replace function private.package_counts(job_id uuid)
returns table (promised int, delivered int, in_hand int, replaced int, working int)
language plpgsql stable set search_path = ''
as $$
begin
  return query
  select t.directory_limit,
         count(*) filter (where d.status in ('submitted', 'live', 'already_listed', 'live_mismatch'))::int,
         count(*) filter (where d.status in ('needs_review', 'needs_action')
                            and d.replaced_by is null)::int,
         count(*) filter (where d.replaced_by is not null)::int,
         count(*) filter (where d.status in ('queued', 'in_progress', 'waiting'))::int
    from public.jobs j
    join public.tiers t on t.name = j.tier
    left join public.job_directories d on d.job_id = j.id
   where j.id = package_counts.job_id
   group by t.directory_limit;
end;
$$;
revoke execute on function private.package_counts(uuid) from public, anon;
grant execute on function private.package_counts(uuid) to authenticated, service_role;

create or replace function private.attempt_result(outcome public.attempt_outcome,
  confirmed boolean)
returns text
language plpgsql immutable set search_path = ''
as $$
begin
  return case
    when outcome = 'success' and confirmed then 'succeeded'
    when outcome = 'already_listed' then 'succeeded'
    when outcome in ('transient_error', 'permanent_error') then 'failed'
    when outcome = 'success' then 'needs_review'
    when outcome in ('needs_action', 'parked') then 'waiting'
    else 'skipped'
  end;
end;
$$;
revoke execute on function private.attempt_result(public.attempt_outcome, boolean)
  from public, anon, authenticated;
grant execute on function private.attempt_result(public.attempt_outcome, boolean) to service_role;
