-- Why: the summary the customer downloads (seed §7), frozen at completion so it stays what
-- the customer was told even if staff later retry a directory (a new completion replaces it).

create table public.job_reports (
  job_id uuid primary key references public.jobs (id),
  summary jsonb not null check (jsonb_typeof(summary) = 'object'),
  created_at timestamptz not null default now()
);
comment on table public.job_reports is
  'Completion summary per job: successes, failures, retries, time to completion. Written by jobs_complete.';

alter table public.job_reports enable row level security;
grant select on public.job_reports to authenticated;

create policy "customers can read their own reports"
  on public.job_reports for select to authenticated
  using (
    (select private.is_staff())
    or job_id in (select id from public.jobs where customer_id = (select private.current_customer_id()))
  );
