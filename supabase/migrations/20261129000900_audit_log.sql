-- Why: every transition, retry, failure and completion must be provable afterwards (seed §9).
-- Append-only: updates, deletes and truncates are refused by trigger, whoever asks.

create table public.audit_log (
  id bigint generated always as identity primary key,
  at timestamptz not null default now(),
  actor text not null check (btrim(actor) <> ''),
  action text not null,
  job_id uuid,
  directory_id text,
  from_status text,
  to_status text,
  details jsonb not null default '{}'
);
comment on table public.audit_log is
  'Append-only record of every state transition and staff action, with who did it. Never updated or deleted.';
create index audit_log_job_idx on public.audit_log (job_id, id);
create index audit_log_at_idx on public.audit_log (at);

create function private.audit_log_refuse_change() returns trigger
language plpgsql set search_path = ''
as $$
begin
  raise exception 'audit_log is append-only: % refused', tg_op using errcode = 'DB002';
end;
$$;
create trigger audit_log_is_append_only before update or delete on public.audit_log
  for each row execute function private.audit_log_refuse_change();
create trigger audit_log_is_never_truncated before truncate on public.audit_log
  for each statement execute function private.audit_log_refuse_change();

create function private.audit(
  actor text, action text, job_id uuid, directory_id text default null,
  from_status text default null, to_status text default null, details jsonb default '{}'
) returns void
language sql set search_path = ''
as $$
  insert into public.audit_log (actor, action, job_id, directory_id, from_status, to_status, details)
  values ($1, $2, $3, $4, $5, $6, coalesce($7, '{}'));
$$;

alter table public.audit_log enable row level security;
grant select on public.audit_log to authenticated;

create policy "staff can read the audit trail"
  on public.audit_log for select to authenticated
  using ((select private.is_staff()));
