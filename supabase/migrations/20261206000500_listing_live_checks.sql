-- Why: a directory that says "submitted" (or that the lookup found listed already) is not
-- proof the listing is up. Citation services count a listing once it is live with the
-- right name, address and phone (issue 14, item 6). Each such listing is now checked at
-- increasing delays after it was handed over (default 1 hour, 1 day, 7 days, 30 days;
-- LIVE_CHECK_DELAYS on the orchestrator): a worker opens the listing URL, compares NAP
-- (dbolt/nap.py) and reports. The outcome moves the directory:
--   live           the listing is up with matching NAP
--   live_mismatch  the listing is up but shows a field wrong (named; still delivered)
--   not_live       still not found at the last check (counts against the package:
--                  20261206000510 replaces it or owes it back)
-- A not-found before the last check changes nothing; the next check is scheduled. A check
-- that could not be made (site down, timeout) is retried a few times, then given up as
-- `error` without changing the directory. Checks go on after the job completes.
--
-- One row per scheduled check (unique per job, directory and seq): the record the customer's
-- page and report read ("Checked live on 4 Dec"), claimed by workers under a lease as the
-- queue's jobs are (FOR UPDATE SKIP LOCKED).

-- The schedule, one row: set by the orchestrator at start from LIVE_CHECK_DELAYS.
create table private.live_check_policy (
  id boolean primary key default true check (id),
  -- Offsets from the moment the listing was handed over; one check per entry.
  delays interval[] not null default '{1 hour,1 day,7 days,30 days}',
  -- A check that could not be made is tried again after this, at most max_errors times.
  error_retry interval not null default '15 minutes',
  max_errors int not null default 3 check (max_errors between 1 and 20),
  updated_at timestamptz not null default now(),
  constraint live_check_policy_delays_are_a_schedule check (
    cardinality(delays) between 1 and 20 and array_position(delays, null) is null)
);
comment on table private.live_check_policy is
  'When listings are checked after submission (offsets from the hand-over, one check each) and how a check that could not be made is retried. One row, set by the orchestrator at start (LIVE_CHECK_DELAYS).';
insert into private.live_check_policy default values;

create table public.listing_checks (
  id bigint generated always as identity primary key,
  job_id uuid not null,
  directory_id text not null,
  -- 1 for the first check after the hand-over, then one more per delay of the schedule.
  seq int not null check (seq > 0),
  -- The schedule's origin: when the listing was handed over (submitted, found listed).
  since timestamptz not null,
  due_at timestamptz not null,
  listing_url text not null check (listing_url ~ '^https?://' and length(listing_url) <= 2000),
  -- The claim (as a job's lease): a worker that dies loses it when lease_expires_at passes.
  -- Kept after the report, as the record of which worker made the check.
  lease_token uuid,
  lease_expires_at timestamptz,
  worker_id text,
  -- Checks that could not be made (site down, timeout) before this one was given up.
  errors int not null default 0 check (errors >= 0),
  checked_at timestamptz,
  result text check (result in ('live', 'live_mismatch', 'not_found', 'error')),
  nap_score numeric(4, 3) check (nap_score between 0 and 1),
  mismatched_fields text[] not null default '{}'
    check (mismatched_fields <@ array['name', 'address', 'phone']),
  -- What the page showed (staff detail): field → text.
  observed jsonb not null default '{}' check (jsonb_typeof(observed) = 'object'),
  message text check (length(message) <= 2000),
  http_status int check (http_status between 100 and 599),
  created_at timestamptz not null default now(),
  foreign key (job_id, directory_id) references public.job_directories (job_id, directory_id),
  unique (job_id, directory_id, seq),
  constraint listing_checks_lease_is_whole check (
    (lease_token is null) = (lease_expires_at is null) and (lease_token is null) = (worker_id is null)),
  constraint listing_checks_result_has_time check ((result is null) = (checked_at is null)),
  constraint listing_checks_mismatch_names_fields check (
    (result = 'live_mismatch') = (cardinality(mismatched_fields) > 0))
);
comment on table public.listing_checks is
  'Scheduled checks that a submitted listing is live with the right name, address and phone: one row per check, claimed by workers under a lease, with what was found (live, live_mismatch naming fields, not_found, error).';
create index listing_checks_due_idx on public.listing_checks (due_at) where checked_at is null;
create index listing_checks_directory_idx on public.listing_checks (job_id, directory_id, seq desc);

alter table public.listing_checks enable row level security;
-- Customers read what their page says of a check, not the worker's lease nor the raw page.
grant select (id, job_id, directory_id, seq, due_at, listing_url, checked_at, result, nap_score,
              mismatched_fields)
  on public.listing_checks to authenticated;
grant select on public.listing_checks to dbolt_staff;
create policy "customers can read the live checks of their own jobs"
  on public.listing_checks for select to authenticated
  using (job_id in (select j.id from public.jobs j
                     where j.customer_id = (select private.current_customer_id())));
create policy "staff can read every live check"
  on public.listing_checks for select to dbolt_staff
  using ((select private.is_staff()));

-- Scheduling ---------------------------------------------------------------------------------

-- The first check of a listing, once it is handed over with a URL to open: submitted by a
-- worker, found by the lookup (already_listed), or confirmed live by staff (the listing can
-- still disappear later; it is checked on the same schedule). Once per directory: later
-- checks are scheduled by listing_checks_report.
create function private.listing_checks_schedule_first() returns trigger
language plpgsql security definer set search_path = ''
as $$
declare
  v_delays interval[];
begin
  if exists (select 1 from public.listing_checks c
              where c.job_id = new.job_id and c.directory_id = new.directory_id) then
    return null;
  end if;
  select p.delays into v_delays from private.live_check_policy p;
  insert into public.listing_checks (job_id, directory_id, seq, since, due_at, listing_url)
  values (new.job_id, new.directory_id, 1, now(), now() + v_delays[1], new.listing_url);
  perform private.audit('system', 'listing_check.scheduled', new.job_id, new.directory_id,
    null, null, jsonb_build_object('seq', 1, 'due_at', now() + v_delays[1]));
  return null;
end;
$$;
revoke execute on function private.listing_checks_schedule_first() from public, anon, authenticated;
create trigger job_directories_schedule_live_checks
  after insert or update of status, listing_url on public.job_directories
  for each row when (new.status in ('submitted', 'already_listed', 'live')
                     and new.listing_url is not null)
  execute function private.listing_checks_schedule_first();

-- The orchestrator sets the schedule at start (LIVE_CHECK_DELAYS). Checks already scheduled
-- keep their due time; the next ones follow the new schedule.
create function public.live_check_policy_set(
  delays interval[], error_retry interval default '15 minutes', max_errors int default 3
) returns jsonb
language plpgsql security definer set search_path = ''
as $$
declare
  v_old private.live_check_policy;
  v_new private.live_check_policy;
begin
  perform private.check_argument(cardinality(live_check_policy_set.delays) between 1 and 20
    and array_position(live_check_policy_set.delays, null) is null,
    'delays must hold 1 to 20 intervals');
  perform private.check_argument(live_check_policy_set.delays[1] > interval '0'
    and not exists (select 1 from generate_subscripts(live_check_policy_set.delays, 1) i
                     where i > 1 and live_check_policy_set.delays[i] <= live_check_policy_set.delays[i - 1]),
    'delays must be positive and increasing');
  perform private.check_argument(coalesce(live_check_policy_set.error_retry > interval '0', false),
    'error_retry must be positive');
  perform private.check_argument(coalesce(live_check_policy_set.max_errors between 1 and 20, false),
    'max_errors must be between 1 and 20');
  select p.* into v_old from private.live_check_policy p for update;
  update private.live_check_policy p
     set delays = live_check_policy_set.delays, error_retry = live_check_policy_set.error_retry,
         max_errors = live_check_policy_set.max_errors, updated_at = now()
  returning p.* into v_new;
  if (v_old.delays, v_old.error_retry, v_old.max_errors)
     is distinct from (v_new.delays, v_new.error_retry, v_new.max_errors) then
    perform private.audit('system', 'live_check_policy.set', null, null, null, null,
      jsonb_build_object('delays', v_new.delays, 'error_retry', v_new.error_retry,
        'max_errors', v_new.max_errors));
  end if;
  return jsonb_build_object('delays', v_new.delays, 'error_retry', v_new.error_retry,
    'max_errors', v_new.max_errors);
end;
$$;
revoke execute on function public.live_check_policy_set(interval[], interval, int) from public, anon, authenticated;
grant execute on function public.live_check_policy_set(interval[], interval, int) to service_role;

-- Claiming -----------------------------------------------------------------------------------

-- Due checks, each leased to the worker: unclaimed (or their lease expired), of a listing still
-- in a state a check can move (not on a cancelled job). With what the worker needs: the job's
-- business snapshot and the directory's recipe `live_check` phase (selectors), if any.
create function public.listing_checks_claim(worker_id text, batch_size int default 10,
                                            lease_seconds int default 120)
returns table (check_id bigint, lease_token uuid, lease_expires_at timestamptz, job_id uuid,
               directory_id text, listing_url text, seq int, last boolean, business jsonb,
               recipe jsonb)
language plpgsql security definer set search_path = ''
as $$
declare
  v_checks int;
begin
  perform private.check_argument(btrim(coalesce(listing_checks_claim.worker_id, '')) <> ''
    and length(listing_checks_claim.worker_id) <= 200, 'worker_id is required (at most 200 characters)');
  perform private.check_argument(coalesce(listing_checks_claim.batch_size between 1 and 100, false),
    'batch_size must be between 1 and 100');
  perform private.check_argument(coalesce(listing_checks_claim.lease_seconds between 5 and 3600, false),
    'lease_seconds must be between 5 and 3600');
  select cardinality(p.delays) into v_checks from private.live_check_policy p;
  return query
  with due as (
    select c.id from public.listing_checks c
      join public.job_directories d on d.job_id = c.job_id and d.directory_id = c.directory_id
      join public.jobs j on j.id = c.job_id
     where c.checked_at is null and c.due_at <= now()
       and (c.lease_token is null or c.lease_expires_at < now())
       and d.status in ('submitted', 'already_listed', 'live', 'live_mismatch')
       and j.status <> 'cancelled'
     order by c.due_at, c.id
     limit listing_checks_claim.batch_size
       for update of c skip locked
  ), claimed as (
    update public.listing_checks c
       set lease_token = gen_random_uuid(),
           lease_expires_at = now() + make_interval(secs => listing_checks_claim.lease_seconds),
           worker_id = listing_checks_claim.worker_id
      from due
     where c.id = due.id
    returning c.*
  )
  select c.id, c.lease_token, c.lease_expires_at, c.job_id, c.directory_id, c.listing_url, c.seq,
         c.seq >= v_checks, j.business_snapshot, dir.recipe -> 'phases' -> 'live_check'
    from claimed c
    join public.jobs j on j.id = c.job_id
    join public.directories dir on dir.id = c.directory_id
   order by c.due_at, c.id;
end;
$$;
revoke execute on function public.listing_checks_claim(text, int, int) from public, anon, authenticated;
grant execute on function public.listing_checks_claim(text, int, int) to service_role;

-- Reporting ----------------------------------------------------------------------------------

-- The plain sentence staff read in the directory's last message (customers read the check).
create function private.listing_check_words(result text, fields text[], seq int) returns text
language sql immutable set search_path = ''
as $$
  select case result
    when 'live' then format('live check %s: the listing is up with matching name, address and phone', seq)
    when 'live_mismatch' then format('live check %s: the listing is up but shows a different %s', seq,
      array_to_string(fields, ', '))
    when 'not_found' then format('live check %s: the listing was not found', seq)
    else format('live check %s could not be made', seq)
  end
$$;
revoke execute on function private.listing_check_words(text, text[], int) from public, anon, authenticated;

-- A worker's check of one listing, under the check's lease (DB001 otherwise). A resend of the
-- same result by the same lease is acknowledged; another result for a check already reported
-- is refused (DB002). Locks the job, then the directory (the order every queue function
-- uses), then the check. Audited as worker:<id>, one row per check with the directory's
-- status before and after.
create function public.listing_checks_report(
  check_id bigint, lease_token uuid, result text, nap_score numeric default null,
  mismatched_fields text[] default '{}', observed jsonb default '{}', message text default null,
  http_status int default null
) returns public.listing_checks
language plpgsql security definer set search_path = ''
as $$
declare
  v_check public.listing_checks;
  v_dir public.job_directories;
  v_policy private.live_check_policy;
  v_fields text[] := coalesce(listing_checks_report.mismatched_fields, '{}');
  v_last boolean;
  v_to public.job_directory_status;
  v_actor text;
  v_final boolean := true;
begin
  perform private.check_argument(listing_checks_report.result in ('live', 'live_mismatch', 'not_found', 'error'),
    'result must be one of live, live_mismatch, not_found, error');
  perform private.check_argument(listing_checks_report.nap_score is null
    or listing_checks_report.nap_score between 0 and 1, 'nap_score must be between 0 and 1');
  perform private.check_argument(v_fields <@ array['name', 'address', 'phone'],
    'mismatched_fields may only name name, address and phone');
  perform private.check_argument((listing_checks_report.result = 'live_mismatch') = (cardinality(v_fields) > 0),
    'mismatched_fields must name the fields of a live_mismatch, and only of a live_mismatch');
  perform private.check_argument(jsonb_typeof(coalesce(listing_checks_report.observed, '{}')) = 'object',
    'observed must be an object');
  perform private.check_argument(listing_checks_report.http_status is null
    or listing_checks_report.http_status between 100 and 599, 'http_status must be between 100 and 599');

  select c.* into v_check from public.listing_checks c where c.id = listing_checks_report.check_id;
  if not found then
    raise exception 'live check % not found', listing_checks_report.check_id using errcode = 'DB003';
  end if;
  perform private.job_for_update(v_check.job_id);
  select d.* into v_dir from public.job_directories d
   where d.job_id = v_check.job_id and d.directory_id = v_check.directory_id for update;
  select c.* into v_check from public.listing_checks c where c.id = v_check.id for update;

  if v_check.lease_token is distinct from listing_checks_report.lease_token then
    raise exception 'live check % is not leased to %', v_check.id, listing_checks_report.lease_token
      using errcode = 'DB001';
  end if;
  if v_check.checked_at is not null then
    if v_check.result = listing_checks_report.result then
      return v_check;  -- the same report resent
    end if;
    raise exception 'live check % is already reported as %', v_check.id, v_check.result
      using errcode = 'DB002';
  end if;

  select p.* into v_policy from private.live_check_policy p;
  v_last := v_check.seq >= cardinality(v_policy.delays);
  v_actor := 'worker:' || v_check.worker_id;

  -- A check that could not be made: tried again later, a bounded number of times.
  if listing_checks_report.result = 'error' and v_check.errors + 1 < v_policy.max_errors then
    update public.listing_checks c
       set errors = c.errors + 1, due_at = now() + v_policy.error_retry,
           lease_token = null, lease_expires_at = null, worker_id = null,
           message = left(listing_checks_report.message, 2000),
           http_status = listing_checks_report.http_status
     where c.id = v_check.id
    returning c.* into v_check;
    perform private.audit(v_actor, 'listing_check.retry', v_check.job_id, v_check.directory_id,
      v_dir.status::text, v_dir.status::text, jsonb_strip_nulls(jsonb_build_object(
        'check_id', v_check.id, 'seq', v_check.seq, 'errors', v_check.errors,
        'due_at', v_check.due_at, 'http_status', listing_checks_report.http_status)));
    return v_check;
  end if;

  update public.listing_checks c
     set checked_at = now(), result = listing_checks_report.result,
         nap_score = listing_checks_report.nap_score, mismatched_fields = v_fields,
         observed = coalesce(listing_checks_report.observed, '{}'),
         message = left(listing_checks_report.message, 2000),
         http_status = listing_checks_report.http_status,
         errors = c.errors + (listing_checks_report.result = 'error')::int
   where c.id = v_check.id
  returning c.* into v_check;

  -- The directory moves only while it is a handed-over listing (staff may have settled it
  -- otherwise meanwhile: the check is then recorded, nothing else).
  v_to := v_dir.status;
  if v_dir.status in ('submitted', 'already_listed', 'live', 'live_mismatch') then
    v_to := case listing_checks_report.result
      when 'live' then 'live'
      when 'live_mismatch' then 'live_mismatch'
      when 'not_found' then case when v_last then 'not_live' else v_dir.status end
      else v_dir.status
    end;
  else
    v_final := false;  -- no more checks for a listing no longer handed over
  end if;
  if v_to is distinct from v_dir.status
     or (v_to = 'live_mismatch' and listing_checks_report.result = 'live_mismatch') then
    update public.job_directories d
       set status = v_to,
           submitted_at = case when v_to in ('live') then coalesce(d.submitted_at, now())
                               else d.submitted_at end,
           last_error_code = case when v_to = 'not_live' then 'not_live' else d.last_error_code end,
           last_message = private.listing_check_words(listing_checks_report.result, v_fields, v_check.seq)
     where d.job_id = v_dir.job_id and d.directory_id = v_dir.directory_id;
  end if;
  perform private.audit(v_actor, 'listing_check.reported', v_check.job_id, v_check.directory_id,
    v_dir.status::text, v_to::text, jsonb_strip_nulls(jsonb_build_object(
      'check_id', v_check.id, 'seq', v_check.seq, 'result', v_check.result,
      'nap_score', v_check.nap_score, 'mismatched_fields', nullif(v_fields, '{}'),
      'http_status', v_check.http_status, 'last', v_last)));

  -- The next check on the schedule (a live listing keeps being checked: it can disappear).
  if v_final and not v_last and v_to <> 'not_live' then
    insert into public.listing_checks (job_id, directory_id, seq, since, due_at, listing_url)
    select v_check.job_id, v_check.directory_id, v_check.seq + 1, v_check.since,
           greatest(now(), v_check.since + v_policy.delays[v_check.seq + 1]),
           coalesce(d.listing_url, v_check.listing_url)
      from public.job_directories d
     where d.job_id = v_check.job_id and d.directory_id = v_check.directory_id
    on conflict (job_id, directory_id, seq) do nothing;
  end if;
  return v_check;
end;
$$;
revoke execute on function public.listing_checks_report(bigint, uuid, text, numeric, text[], jsonb, text, int)
  from public, anon, authenticated;
grant execute on function public.listing_checks_report(bigint, uuid, text, numeric, text[], jsonb, text, int)
  to service_role;
