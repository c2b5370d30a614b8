-- Why: degradations staff must see and act on (captcha provider down, proxy pool exhausted,
-- database outage, a directory's failure rate jumping). Raised and cleared by the
-- orchestrator; acknowledged by staff.

create table public.alerts (
  id bigint generated always as identity primary key,
  kind text not null check (kind ~ '^[a-z_]+$'),
  message text not null,
  details jsonb not null default '{}',
  raised_at timestamptz not null default now(),
  cleared_at timestamptz,
  acknowledged_at timestamptz,
  acknowledged_by text
);
comment on table public.alerts is
  'Operational alerts shown on the staff dashboard; at most one open alert per kind.';
create unique index alerts_one_open_per_kind on public.alerts (kind) where cleared_at is null;

alter table public.alerts enable row level security;
grant select on public.alerts to authenticated;

create policy "staff can read alerts"
  on public.alerts for select to authenticated
  using ((select private.is_staff()));
