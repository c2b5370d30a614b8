-- Why: workers wake on new work and stop on pause/cancel without polling, and customers and
-- staff watch progress live. Messages go out with Broadcast from Database (realtime.send in
-- triggers, private channels); RLS on realtime.messages decides who may join which topic.
--
-- Topics: 'jobs' (job_available), 'job:<id>' (paused, resumed, cancelled, progress),
-- 'customer:<auth uid>' (job_status, progress), 'staff' (job_status, progress).

create function private.broadcast_job_status() returns trigger
language plpgsql security definer set search_path = ''
as $$
declare
  v_user uuid;
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
  select c.user_id into v_user from public.customers c where c.id = new.customer_id;
  if v_user is not null then
    perform realtime.send(v_payload, 'job_status', 'customer:' || v_user, true);
  end if;
  perform realtime.send(v_payload, 'job_status', 'staff', true);
  return null;
end;
$$;
create trigger jobs_broadcast_status after insert or update of status on public.jobs
  for each row execute function private.broadcast_job_status();

create function private.broadcast_directory_progress() returns trigger
language plpgsql security definer set search_path = ''
as $$
declare
  v_user uuid;
  v_payload jsonb;
begin
  v_payload := jsonb_build_object('job_id', new.job_id, 'directory_id', new.directory_id,
    'status', new.status, 'from_status', old.status, 'attempts', new.attempts,
    'listing_url', new.listing_url);
  perform realtime.send(v_payload, 'progress', 'job:' || new.job_id, true);
  select c.user_id into v_user
    from public.jobs j join public.customers c on c.id = j.customer_id
   where j.id = new.job_id;
  if v_user is not null then
    perform realtime.send(v_payload, 'progress', 'customer:' || v_user, true);
  end if;
  perform realtime.send(v_payload, 'progress', 'staff', true);
  return null;
end;
$$;
create trigger job_directories_broadcast_progress after update of status on public.job_directories
  for each row when (old.status is distinct from new.status)
  execute function private.broadcast_directory_progress();

-- Realtime authorises a join by reading realtime.messages under the joiner's JWT with
-- realtime.topic() set to the channel; these policies are that decision.
create policy "signed-in users receive only the topics meant for them"
  on realtime.messages for select to authenticated
  using (
    realtime.messages.extension = 'broadcast'
    and (
      -- workers and staff: queue wake-ups and per-job control
      (((select realtime.topic()) = 'jobs' or (select realtime.topic()) like 'job:%')
        and ((select private.is_worker()) or (select private.is_staff())))
      -- a customer: their own progress only
      or (select realtime.topic()) = 'customer:' || (select auth.uid())::text
      -- staff: the dashboard feed
      or ((select realtime.topic()) = 'staff' and (select private.is_staff()))
    )
  );
