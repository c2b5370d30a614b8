-- Why (issue 17, item 1): staff scout a site from the dashboard. The portal never runs a
-- browser and workers never touch Postgres, so a scout is a request row: staff queue it
-- (staff_directory_scout_request, audited), a worker-side process takes it through the
-- orchestrator (directory_scouts_next, service role), runs the read-only scout with the
-- egress guard and posts what it found (directory_scouts_finish): done with the report,
-- failed (the page did not load) or refused (the URL, or where the site sent the browser, is
-- not one a worker may reach: a private or metadata address, a file: URL). Staff read the
-- rows through staff_* functions only; no API role reads the table.
-- A scout whose worker stopped mid-way is taken again once its lease lapses, at most
-- three times; then it is failed with that reason, so a URL that kills the browser cannot
-- loop for ever.

create table public.directory_scouts (
  id bigint generated always as identity primary key,
  url text not null check (length(btrim(url)) between 1 and 2000),
  requested_by text not null,
  status text not null default 'queued'
    check (status in ('queued', 'running', 'done', 'failed', 'refused')),
  -- Why it failed or was refused, in words staff read.
  reason text,
  -- The scout's report (signature, digest, draft, walls, captcha, steps, form fields...).
  result jsonb check (result is null or jsonb_typeof(result) = 'object'),
  -- Paths relative to the workers' ARTIFACTS_DIR (swept after ARTIFACTS_RETENTION_DAYS).
  screenshots text[] not null default '{}',
  worker_id text,
  lease_token uuid,
  lease_expires_at timestamptz,
  attempts int not null default 0,
  requested_at timestamptz not null default now(),
  started_at timestamptz,
  finished_at timestamptz,
  -- The disabled catalogue entry staff saved from this scout's draft, if any.
  saved_directory_id text references public.directories (id),
  constraint directory_scouts_done_has_a_result check (status <> 'done' or result is not null),
  constraint directory_scouts_refusal_says_why
    check (status not in ('failed', 'refused') or reason is not null),
  constraint directory_scouts_running_has_a_lease
    check (status <> 'running' or (lease_token is not null and lease_expires_at is not null))
);
comment on table public.directory_scouts is
  'Scouts staff asked for from the dashboard: queued by staff, run read-only by a worker '
  'through the orchestrator, the report or the refusal kept for staff to review and save '
  'as a disabled catalogue entry.';
create index directory_scouts_waiting_idx on public.directory_scouts (requested_at, id)
  where status in ('queued', 'running');
create index directory_scouts_recent_idx on public.directory_scouts (requested_at desc, id desc);

alter table public.directory_scouts enable row level security;
revoke all on table public.directory_scouts from public, anon, authenticated;

-- Staff queue a scout of a URL. The URL is checked by the worker's destination policy when
-- it runs (the one place that resolves hosts); here only that it is text of a sane length.
create function public.staff_directory_scout_request(url text) returns bigint
language plpgsql security definer set search_path = ''
as $$
declare
  v_id bigint;
  v_url constant text := btrim(coalesce(staff_directory_scout_request.url, ''));
begin
  perform private.require_staff();
  perform private.check_argument(v_url <> '', 'url is required');
  perform private.check_argument(length(v_url) <= 2000, 'url is longer than 2000 characters');
  insert into public.directory_scouts (url, requested_by)
  values (v_url, private.staff_actor())
  returning id into v_id;
  perform private.audit(private.staff_actor(), 'directory.scout_requested', null, null,
    null, 'queued', jsonb_build_object('scout_id', v_id, 'url', v_url));
  return v_id;
end;
$$;
revoke execute on function public.staff_directory_scout_request(text) from public, anon;
grant execute on function public.staff_directory_scout_request(text) to authenticated;

-- The latest scouts, for the page's list (no reports: they can be large).
create function public.staff_directory_scouts(max_rows int default 20)
returns table (
  scout_id bigint, url text, requested_by text, status text, reason text,
  requested_at timestamptz, started_at timestamptz, finished_at timestamptz,
  saved_directory_id text
)
language plpgsql stable security definer set search_path = ''
as $$
begin
  perform private.require_staff();
  return query
  select s.id, s.url, s.requested_by, s.status, s.reason, s.requested_at, s.started_at,
         s.finished_at, s.saved_directory_id
    from public.directory_scouts s
   order by s.requested_at desc, s.id desc
   limit greatest(1, least(coalesce(staff_directory_scouts.max_rows, 20), 200));
end;
$$;
revoke execute on function public.staff_directory_scouts(int) from public, anon;
grant execute on function public.staff_directory_scouts(int) to authenticated;

-- One scout with its report (never its lease token).
create function public.staff_directory_scout(scout_id bigint) returns jsonb
language plpgsql stable security definer set search_path = ''
as $$
declare
  v_row jsonb;
begin
  perform private.require_staff();
  select to_jsonb(s) - 'lease_token' into v_row from public.directory_scouts s
   where s.id = staff_directory_scout.scout_id;
  if v_row is null then
    raise exception 'scout % not found', staff_directory_scout.scout_id using errcode = 'DB003';
  end if;
  return v_row;
end;
$$;
revoke execute on function public.staff_directory_scout(bigint) from public, anon;
grant execute on function public.staff_directory_scout(bigint) to authenticated;

-- The worker side (through the orchestrator, service role): the oldest waiting scout, leased.
create function public.directory_scouts_next(worker_id text, lease_seconds int)
returns table (scout_id bigint, url text, lease_token uuid)
language plpgsql security definer set search_path = ''
as $$
begin
  perform private.check_argument(btrim(coalesce(directory_scouts_next.worker_id, '')) <> '',
    'worker_id is required');
  perform private.check_argument(directory_scouts_next.lease_seconds between 10 and 3600,
    'lease_seconds must be between 10 and 3600');
  update public.directory_scouts s
     set status = 'failed', finished_at = now(), lease_token = null, lease_expires_at = null,
         reason = format('the worker running it stopped %s times without finishing', s.attempts)
   where s.status = 'running' and s.lease_expires_at < now() and s.attempts >= 3;
  return query
  with picked as (
    select s.id from public.directory_scouts s
     where s.status = 'queued' or (s.status = 'running' and s.lease_expires_at < now())
     order by s.requested_at, s.id
     for update skip locked
     limit 1
  )
  update public.directory_scouts s
     set status = 'running', worker_id = directory_scouts_next.worker_id,
         lease_token = gen_random_uuid(),
         lease_expires_at = now() + make_interval(secs => directory_scouts_next.lease_seconds),
         attempts = s.attempts + 1, started_at = now()
    from picked
   where s.id = picked.id
  returning s.id, s.url, s.lease_token;
end;
$$;
revoke execute on function public.directory_scouts_next(text, int) from public, anon, authenticated;
grant execute on function public.directory_scouts_next(text, int) to service_role;

-- What the worker found. Only under the current lease; a lost lease changes nothing.
create function public.directory_scouts_finish(scout_id bigint, lease_token uuid, status text,
  result jsonb, screenshots text[], reason text)
returns jsonb
language plpgsql security definer set search_path = ''
as $$
declare
  v_row public.directory_scouts;
begin
  perform private.check_argument(directory_scouts_finish.status in ('done', 'failed', 'refused'),
    'status must be done, failed or refused');
  perform private.check_argument(directory_scouts_finish.status <> 'done'
    or jsonb_typeof(directory_scouts_finish.result) = 'object', 'result is required when done');
  perform private.check_argument(directory_scouts_finish.status = 'done'
    or btrim(coalesce(directory_scouts_finish.reason, '')) <> '', 'reason is required');
  select s.* into v_row from public.directory_scouts s
   where s.id = directory_scouts_finish.scout_id for update;
  if not found then
    raise exception 'scout % not found', directory_scouts_finish.scout_id using errcode = 'DB003';
  end if;
  if v_row.status <> 'running' or v_row.lease_token is distinct from directory_scouts_finish.lease_token then
    raise exception 'scout %: the lease is not this one (status %)', v_row.id, v_row.status
      using errcode = 'DB001';
  end if;
  update public.directory_scouts s
     set status = directory_scouts_finish.status,
         result = case when directory_scouts_finish.status = 'done' then directory_scouts_finish.result end,
         screenshots = coalesce(directory_scouts_finish.screenshots, '{}'),
         reason = nullif(btrim(coalesce(directory_scouts_finish.reason, '')), ''),
         finished_at = now(), lease_token = null, lease_expires_at = null
   where s.id = v_row.id;
  perform private.audit('worker:' || coalesce(v_row.worker_id, 'unknown'), 'directory.scouted',
    null, null, 'running', directory_scouts_finish.status,
    jsonb_strip_nulls(jsonb_build_object('scout_id', v_row.id, 'url', v_row.url,
      'reason', directory_scouts_finish.reason)));
  return jsonb_build_object('scout_id', v_row.id, 'status', directory_scouts_finish.status);
end;
$$;
revoke execute on function public.directory_scouts_finish(bigint, uuid, text, jsonb, text[], text)
  from public, anon, authenticated;
grant execute on function public.directory_scouts_finish(bigint, uuid, text, jsonb, text[], text)
  to service_role;
