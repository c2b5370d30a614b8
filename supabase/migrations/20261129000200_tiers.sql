-- Why: the packages customers buy. Each tier says how many directories a job gets and how
-- many of its jobs may run at once; `running` is the slot counter jobs_next reserves from,
-- so the cap holds under any number of concurrent claimers.

create table public.tiers (
  name text primary key,
  rank int not null unique check (rank > 0),
  directory_limit int not null check (directory_limit > 0),
  max_running int not null check (max_running >= 0),
  -- Set while a provider (captcha, proxies) is degraded; dispatch slows to this cap.
  throttled_max_running int check (throttled_max_running >= 0),
  effective_max_running int generated always as (
    least(max_running, coalesce(throttled_max_running, max_running))
  ) stored,
  running int not null default 0,
  constraint tiers_running_within_bounds check (running >= 0)
);
comment on table public.tiers is
  'Packages (starter/growth/professional/enterprise): directory count per job and the cap on concurrently running jobs. running is maintained only by jobs_next (reserve) and the jobs status trigger (release).';
comment on column public.tiers.running is
  'Slots in use. Reserved atomically by jobs_next before a job becomes in_progress; released by trigger when it leaves in_progress. May exceed max_running only after ops lower the cap.';

insert into public.tiers (name, rank, directory_limit, max_running) values
  ('starter', 1, 50, 8),
  ('growth', 2, 100, 6),
  ('professional', 3, 300, 4),
  ('enterprise', 4, 500, 2);

alter table public.tiers enable row level security;
grant select on public.tiers to anon, authenticated;

create policy "anyone can read the packages on offer"
  on public.tiers for select to anon, authenticated
  using (true);
