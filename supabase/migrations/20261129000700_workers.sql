-- Why: the orchestrator reports worker health (/healthz, active workers) from when each
-- worker last claimed or heartbeated; workers themselves never touch the database.

create table public.workers (
  id text primary key check (btrim(id) <> '' and char_length(id) <= 200),
  first_seen_at timestamptz not null default now(),
  last_seen_at timestamptz not null default now(),
  current_job_id uuid,
  jobs_claimed int not null default 0
);
comment on table public.workers is
  'Workers seen by jobs_next/jobs_heartbeat, for health and active-worker counts. Written only by queue functions.';

alter table public.workers enable row level security;
grant select on public.workers to authenticated;

create policy "staff can read worker health"
  on public.workers for select to authenticated
  using ((select private.is_staff()));
