-- Why: hosted Realtime allows 500 messages/s on Pro (2,500 on Team), and every directory
-- change sent three broadcasts (job:<id>, customer:<uid>, staff), so one attempt (started,
-- then reported) cost six. The portal now follows every job's changes through one socket
-- per process on topic 'staff' and fans them out itself (portal/realtime_hub.py), and nobody
-- listens for progress on job:<id> (workers follow only paused/cancelled/resumed there). So
-- each change sends ONE message to 'staff': an attempt costs two. Workers keep their
-- wake-up ('jobs') and control ('job:<id>') messages. Bodies redefined from 20261129001500,
-- their latest.

create or replace function private.broadcast_job_status() returns trigger
language plpgsql security definer set search_path = ''
as $$
declare
  v_payload jsonb;
  v_from text := case when tg_op = 'UPDATE' then old.status::text end;
begin
  v_payload := jsonb_build_object('job_id', new.id, 'tier', new.tier, 'status', new.status,
    'from_status', v_from);
  if new.status = 'pending' then
    perform realtime.send(v_payload, 'job_available', 'jobs', true);
  end if;
  if tg_op = 'UPDATE' then
    if new.status = 'paused' then
      perform realtime.send(v_payload, 'paused', 'job:' || new.id, true);
    elsif new.status = 'cancelled' then
      perform realtime.send(v_payload, 'cancelled', 'job:' || new.id, true);
    elsif old.status = 'paused' and new.status = 'pending' then
      perform realtime.send(v_payload, 'resumed', 'job:' || new.id, true);
    end if;
  end if;
  perform realtime.send(v_payload, 'job_status', 'staff', true);
  return null;
end;
$$;
revoke execute on function private.broadcast_job_status() from public, anon, authenticated;

create or replace function private.broadcast_directory_progress() returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
  perform realtime.send(
    jsonb_build_object('job_id', new.job_id, 'directory_id', new.directory_id,
      'status', new.status, 'from_status', old.status, 'attempts', new.attempts,
      'listing_url', new.listing_url),
    'progress', 'staff', true);
  return null;
end;
$$;
revoke execute on function private.broadcast_directory_progress() from public, anon, authenticated;
