-- How broadcasts reach the devstack Realtime stand-in (devstack/supabase_api).
--
-- Hosted Realtime reads new realtime.messages rows through logical replication. The stand-in
-- LISTENs on 'realtime_broadcast' instead, and this trigger NOTIFYs it. A NOTIFY is sent only
-- when the inserting transaction commits, so a rolled-back broadcast (and every probe row a
-- join authorisation inserts and rolls back) is never delivered — as with replication.
-- Applied by devstack/localdb.py right after supabase_bootstrap.sql; this is local plumbing,
-- not product schema, so it is never a migration. Idempotent.

create or replace function realtime.devstack_notify_broadcast() returns trigger
language plpgsql
set search_path = ''
as $$
declare
  v_message text := jsonb_build_object(
    'id', new.id, 'topic', new.topic, 'event', new.event, 'payload', new.payload,
    'private', new.private, 'extension', new.extension
  )::text;
begin
  -- NOTIFY payloads must stay under 8000 bytes: a bigger row goes by id and the stand-in
  -- reads it back from the table.
  if octet_length(v_message) > 7900 then
    v_message := jsonb_build_object('id', new.id, 'truncated', true)::text;
  end if;
  perform pg_notify('realtime_broadcast', v_message);
  return null;
end;
$$;
alter function realtime.devstack_notify_broadcast() owner to supabase_admin;

create or replace trigger devstack_notify_broadcast
  after insert on realtime.messages
  for each row when (new.extension = 'broadcast')
  execute function realtime.devstack_notify_broadcast();

-- Retention, as hosted Realtime keeps it: its janitor drops realtime.messages partitions older
-- than 72 hours. Locally every row lives in the default partition, so the stand-in's janitor
-- (devstack/supabase_api/realtime_janitor.py) deletes the rows instead, on a schedule.
-- inserted_at is a local timestamp (default now()), so the cutoff is one too.
create index if not exists messages_inserted_at_idx on realtime.messages (inserted_at);

create or replace function realtime.devstack_prune_messages(keep interval default '72 hours')
returns bigint
language sql
set search_path = ''
as $$
  with pruned as (
    delete from realtime.messages m
     where m.inserted_at < now()::timestamp - devstack_prune_messages.keep
    returning 1
  )
  select count(*) from pruned;
$$;
alter function realtime.devstack_prune_messages(interval) owner to supabase_admin;
revoke execute on function realtime.devstack_prune_messages(interval) from public, anon, authenticated;
