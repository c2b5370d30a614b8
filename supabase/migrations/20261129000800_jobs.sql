-- Why: the queue. A job is one paid order being worked; job_directories is its state per
-- directory; job_results is one row per submission attempt (the progress log). Statuses
-- change only through the jobs_* functions; the constraints here make illegal rows
-- impossible even for a careless writer.

create type public.job_status as enum ('pending', 'in_progress', 'paused', 'complete', 'failed', 'cancelled');
create type public.job_directory_status as enum (
  'queued', 'in_progress', 'submitted', 'needs_review', 'needs_action', 'failed', 'skipped', 'live'
);
-- What the worker saw. 'success' counts only with confirmed = true; otherwise it is filed
-- for review (success is never assumed).
create type public.attempt_outcome as enum (
  'success', 'needs_action', 'transient_error', 'permanent_error', 'skipped'
);

create table public.jobs (
  id uuid primary key default gen_random_uuid(),
  order_id uuid not null unique references public.orders (id),
  customer_id uuid not null references public.customers (id),
  tier text not null references public.tiers (name),
  status public.job_status not null default 'pending',
  business_snapshot jsonb not null,
  worker_id text,
  lease_token uuid,
  lease_expires_at timestamptz,
  lost_leases int not null default 0 check (lost_leases >= 0),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  started_at timestamptz,
  completed_at timestamptz,
  constraint jobs_business_is_complete
    check (cardinality(private.business_missing_fields(business_snapshot)) = 0),
  constraint jobs_lease_only_while_in_progress check (
    (status = 'in_progress') = (lease_token is not null)
    and (lease_token is null) = (lease_expires_at is null)
    and (lease_token is null) = (worker_id is null)
  ),
  constraint jobs_complete_has_completed_at check ((status = 'complete') = (completed_at is not null))
);
comment on table public.jobs is
  'One job per paid order: the business snapshot to submit and the lease of the worker holding it. FIFO by (created_at, id).';
create index jobs_pending_fifo_idx on public.jobs (created_at, id) where status = 'pending';
create index jobs_lease_expiry_idx on public.jobs (lease_expires_at) where status = 'in_progress';
create index jobs_customer_id_idx on public.jobs (customer_id);
create index jobs_status_idx on public.jobs (status);
create index jobs_completed_at_idx on public.jobs (completed_at) where completed_at is not null;

create trigger jobs_touch_updated_at before update on public.jobs
  for each row execute function private.touch_updated_at();

-- A job leaving in_progress (complete, release, reap, pause, cancel, fail) gives its tier
-- slot back. jobs_next is the only way in and reserves the slot itself, under the tier's
-- row lock; doing the release here means no exit path can forget it.
create function private.jobs_release_tier_slot() returns trigger
language plpgsql set search_path = ''
as $$
begin
  update public.tiers set running = running - 1 where name = old.tier;
  return null;
end;
$$;
create trigger jobs_release_tier_slot after update of status on public.jobs
  for each row when (old.status = 'in_progress' and new.status <> 'in_progress')
  execute function private.jobs_release_tier_slot();

create table public.job_directories (
  job_id uuid not null references public.jobs (id),
  directory_id text not null references public.directories (id),
  position int not null check (position > 0),
  status public.job_directory_status not null default 'queued',
  attempts int not null default 0 check (attempts >= 0),
  -- Transient errors retry until attempts reaches max_attempts; a staff retry raises it.
  max_attempts int not null default 3 check (max_attempts > 0),
  last_outcome public.attempt_outcome,
  last_error_code text,
  last_message text,
  listing_url text check (listing_url ~ '^https?://'),
  action_required text,
  updated_at timestamptz not null default now(),
  submitted_at timestamptz,
  primary key (job_id, directory_id),
  unique (job_id, position),
  constraint job_directories_submitted_have_time
    check (status not in ('submitted', 'live') or submitted_at is not null),
  constraint job_directories_needs_action_says_what
    check (status <> 'needs_action' or action_required is not null)
);
comment on table public.job_directories is
  'State of one directory within one job (queued → in_progress → submitted/needs_review/needs_action/failed/skipped; submitted → live). A submitted directory is never submitted again for the job.';
create index job_directories_status_idx on public.job_directories (job_id, status);
create index job_directories_directory_idx on public.job_directories (directory_id, status);

create trigger job_directories_touch_updated_at before update on public.job_directories
  for each row execute function private.touch_updated_at();

create table public.job_results (
  id bigint generated always as identity primary key,
  job_id uuid not null,
  directory_id text not null,
  attempt int not null check (attempt > 0),
  outcome public.attempt_outcome not null,
  confirmed boolean not null default false,
  error_code text,
  message text,
  listing_url text check (listing_url ~ '^https?://'),
  action_required text,
  duration_ms int check (duration_ms >= 0),
  captcha_kind text,
  captcha_solved boolean,
  proxy text,
  artifacts jsonb not null default '{}' check (jsonb_typeof(artifacts) = 'object'),
  worker_id text,
  reported_at timestamptz not null default now(),
  foreign key (job_id, directory_id) references public.job_directories (job_id, directory_id),
  unique (job_id, directory_id, attempt),
  constraint job_results_errors_have_code
    check (outcome not in ('transient_error', 'permanent_error') or error_code is not null),
  constraint job_results_confirmation_only_on_success check (outcome = 'success' or not confirmed)
);
comment on table public.job_results is
  'One row per submission attempt, as reported by a worker: the progress log customers and staff read. Idempotent per (job, directory, attempt).';
create index job_results_reported_at_idx on public.job_results (reported_at);

alter table public.jobs enable row level security;
alter table public.job_directories enable row level security;
alter table public.job_results enable row level security;
grant select on public.jobs, public.job_directories, public.job_results to authenticated;

create policy "customers can read their own jobs"
  on public.jobs for select to authenticated
  using (customer_id = (select private.current_customer_id()) or (select private.is_staff()));

create policy "customers can read the directories of their own jobs"
  on public.job_directories for select to authenticated
  using (
    (select private.is_staff())
    or job_id in (select id from public.jobs where customer_id = (select private.current_customer_id()))
  );

create policy "customers can read the attempts of their own jobs"
  on public.job_results for select to authenticated
  using (
    (select private.is_staff())
    or job_id in (select id from public.jobs where customer_id = (select private.current_customer_id()))
  );
