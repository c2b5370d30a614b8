-- Why (issue 17, security review): taking a scout, taking it again after its worker stopped,
-- and failing it after the third stop left no trace in the audit log. Each take is now
-- audited as directory.scout_taken (with the attempt number and the status it was taken
-- from) and each third-stop failure as directory.scout_failed (with the attempt count).
-- Redefined from 20261213000100, the latest body.

create or replace function public.directory_scouts_next(worker_id text, lease_seconds int)
returns table (scout_id bigint, url text, lease_token uuid)
language plpgsql security definer set search_path = ''
as $$
declare
  v_failed record;
  v_id bigint;
  v_url text;
  v_token uuid;
  v_attempts int;
  v_was text;
begin
  perform private.check_argument(btrim(coalesce(directory_scouts_next.worker_id, '')) <> '',
    'worker_id is required');
  perform private.check_argument(directory_scouts_next.lease_seconds between 10 and 3600,
    'lease_seconds must be between 10 and 3600');
  for v_failed in
    update public.directory_scouts s
       set status = 'failed', finished_at = now(), lease_token = null, lease_expires_at = null,
           reason = format('the worker running it stopped %s times without finishing', s.attempts)
     where s.status = 'running' and s.lease_expires_at < now() and s.attempts >= 3
    returning s.id, s.url, s.attempts, s.worker_id, s.reason
  loop
    perform private.audit('worker:' || coalesce(v_failed.worker_id, 'unknown'),
      'directory.scout_failed', null, null, 'running', 'failed',
      jsonb_build_object('scout_id', v_failed.id, 'url', v_failed.url,
        'attempts', v_failed.attempts, 'reason', v_failed.reason));
  end loop;
  with picked as (
    select s.id, s.status from public.directory_scouts s
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
  returning s.id, s.url, s.lease_token, s.attempts, picked.status
    into v_id, v_url, v_token, v_attempts, v_was;
  if v_id is null then
    return;
  end if;
  -- A second or third take means the worker before it stopped mid-way: worth a trace.
  perform private.audit('worker:' || directory_scouts_next.worker_id, 'directory.scout_taken',
    null, null, v_was, 'running',
    jsonb_build_object('scout_id', v_id, 'url', v_url, 'attempts', v_attempts));
  scout_id := v_id;
  url := v_url;
  lease_token := v_token;
  return next;
end;
$$;
revoke execute on function public.directory_scouts_next(text, int) from public, anon, authenticated;
grant execute on function public.directory_scouts_next(text, int) to service_role;
