-- Why: a directory that waits (for its verification email, or a moderation delay) must not
-- hold a worker or the job's lease for hours. It is parked instead: its phase to resume at,
-- what it waits for and until when are kept on the row, and the job holds no lease while
-- everything left is parked (job `waiting`, with `wake_at`). The email that wakes a directory
-- is stored (inbound_emails, from the inbound-mail webhook) and named on the row.
--
-- This migration holds what the parking, the mail and the resumption share: the columns, the
-- mail table and the one way a waiting job becomes pending again (private.jobs_wake). The
-- transitions into `waiting` and the mail matching come in their own migrations.

alter table public.jobs add column wake_at timestamptz;
alter table public.jobs add constraint jobs_waiting_has_wake_at
  check ((status = 'waiting') = (wake_at is not null));
comment on column public.jobs.wake_at is
  'While the job is waiting: when its earliest parked directory is due (an email may wake it sooner).';
create index jobs_waiting_wake_idx on public.jobs (wake_at) where status = 'waiting';

create table public.inbound_emails (
  id bigint generated always as identity primary key,
  -- The provider's own id of the message (Mailgun's Message-Id): a replayed or retried
  -- delivery is stored once.
  provider text not null check (provider ~ '^[a-z0-9_-]{1,40}$'),
  provider_message_id text not null check (length(provider_message_id) between 1 and 998),
  customer_id uuid not null references public.customers (id),
  recipient text not null check (length(recipient) <= 320),
  sender text not null check (length(sender) <= 998),
  subject text not null default '' check (length(subject) <= 998),
  body_text text not null default '' check (length(body_text) <= 1000000),
  body_html text not null default '' check (length(body_html) <= 2000000),
  received_at timestamptz not null default now(),
  -- The parked directory this mail was matched to (sender, recipient, subject, job), if any.
  job_id uuid,
  directory_id text,
  matched_at timestamptz,
  unique (provider, provider_message_id),
  foreign key (job_id, directory_id) references public.job_directories (job_id, directory_id),
  constraint inbound_emails_match_is_whole
    check ((job_id is null) = (directory_id is null) and (job_id is null) = (matched_at is null))
);
comment on table public.inbound_emails is
  'Mail directories sent to customers'' campaign mailboxes (verification links and codes), as the inbound-mail webhook verified and stored it; matched to the directory waiting for it.';
create index inbound_emails_customer_idx on public.inbound_emails (customer_id, received_at desc);

alter table public.inbound_emails enable row level security;
grant select on public.inbound_emails to authenticated, dbolt_staff;
create policy "customers can read their own mailbox's mail"
  on public.inbound_emails for select to authenticated
  using (customer_id = (select private.current_customer_id()));
create policy "staff can read every mailbox's mail"
  on public.inbound_emails for select to dbolt_staff
  using ((select private.is_staff()));

alter table public.job_directories
  add column phase text check (phase in
    ('lookup', 'signup', 'verify_email', 'login', 'submit', 'claim', 'confirm', 'live_check')),
  add column wait_kind text check (wait_kind in ('email', 'moderation')),
  add column wait_until timestamptz,
  add column wake_mail_id bigint references public.inbound_emails (id),
  add constraint job_directories_waiting_says_for_what check (case
    when status = 'waiting' then wait_kind is not null and wait_until is not null and phase is not null
    else wait_kind is null and wait_until is null end);
comment on column public.job_directories.phase is
  'The recipe phase to resume at (docs/recipes.md, phases) while parked; the last phase reached otherwise.';
comment on column public.job_directories.wait_until is
  'While waiting: an email wait''s deadline, or when a moderation delay is over.';
comment on column public.job_directories.wake_mail_id is
  'The email that woke this parked directory (its link or code is what the next phase needs).';
create index job_directories_waiting_idx on public.job_directories (job_id, wait_until)
  where status = 'waiting';

-- The one way a waiting job becomes pending again: when its wake time has come or a parked
-- directory's email arrived. Pending, it is announced on the `jobs` topic (job_available) by
-- the status trigger, and a worker claims it with the due directories in its list. A job in
-- any other status is left alone (false): a worker holding it sees the woken directory when
-- it gives the job back.
create function private.jobs_wake(p_job_id uuid, p_actor text, p_why text) returns boolean
language plpgsql security definer set search_path = ''
as $$
declare
  v_job public.jobs;
begin
  select j.* into v_job from public.jobs j where j.id = p_job_id for update;
  if not found or v_job.status <> 'waiting' then
    return false;
  end if;
  update public.jobs j set status = 'pending', wake_at = null where j.id = p_job_id;
  perform private.audit(p_actor, 'job.woken', p_job_id, null, 'waiting', 'pending',
    jsonb_build_object('why', p_why));
  return true;
end;
$$;
revoke execute on function private.jobs_wake(uuid, text, text) from public;
