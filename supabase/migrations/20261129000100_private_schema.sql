-- Why: helpers that policies and queue functions share must not be reachable through the
-- Data API, and no function may be callable by PUBLIC unless granted on purpose (deny by
-- default). Error codes used by every queue function are documented here once.
--
-- SQLSTATEs raised by our functions (mapped to domain errors in dbolt/sql/errors.py):
--   DB001 lease lost: the lease token is not the job's current one
--   DB002 invalid transition: the row is not in a state that allows the call
--   DB003 not found
--   DB004 business info incomplete (the message names every missing field)
--   DB005 invalid argument (the message names the argument)

create schema if not exists private;
revoke all on schema private from public;
grant usage on schema private to authenticated, service_role;

alter default privileges revoke execute on functions from public;
alter default privileges in schema public revoke execute on functions from public;
alter default privileges in schema private revoke execute on functions from public;

-- Staff are Auth users whose app_metadata.role is 'staff' (set only by the service role,
-- so a customer cannot promote themselves).
create function private.is_staff() returns boolean
language sql stable set search_path = ''
as $$
  select coalesce(auth.jwt() -> 'app_metadata' ->> 'role' = 'staff', false)
$$;
grant execute on function private.is_staff() to authenticated, service_role;

create function private.is_worker() returns boolean
language sql stable set search_path = ''
as $$
  select coalesce(auth.jwt() -> 'app_metadata' ->> 'role' = 'worker', false)
$$;
grant execute on function private.is_worker() to authenticated, service_role;

-- Trigger helper: keeps updated_at honest without trusting callers.
create function private.touch_updated_at() returns trigger
language plpgsql set search_path = ''
as $$
begin
  new.updated_at := now();
  return new;
end;
$$;
