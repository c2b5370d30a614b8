-- Why: a parked directory resumes hours later in another worker's browser, signed in where
-- the first one stopped. Its browser session (Playwright's storage state: cookies, local
-- storage — a directory account's live session) is kept here, sealed by the orchestrator's
-- vault (dbolt/vault.py, AES-256-GCM, bound to `directory_session:<job>:<directory>`); the
-- database never sees it in the clear and keeps the key id for rotation.
-- Saved under the job's lease only, for a directory being worked (the worker saves right
-- before reporting `parked`); one per directory of a job, a later save replaces it.
-- Kept while the directory may still resume (queued, in_progress, waiting); deleted the moment
-- it settles (any other status, including skipped by a cancel) or restarts its sign-up (an
-- email that never came, 20261206000220): a session is a credential, kept no longer than
-- it can be used.

create table private.directory_sessions (
  job_id uuid not null,
  directory_id text not null,
  key_id text not null check (key_id ~ '^[A-Za-z0-9_-]{1,32}$'),
  -- nonce (12) || ciphertext || tag (16), of at most dbolt.contracts.STORAGE_STATE_MAX_BYTES.
  ciphertext bytea not null check (octet_length(ciphertext) between 29 and 256 * 1024 + 28),
  saved_at timestamptz not null default now(),
  primary key (job_id, directory_id),
  foreign key (job_id, directory_id) references public.job_directories (job_id, directory_id)
);
comment on table private.directory_sessions is
  'A parked directory''s browser session, sealed by the orchestrator''s vault (never in the clear here); deleted when the directory settles or restarts its sign-up.';

create function public.jobs_save_session(
  job_id uuid, lease_token uuid, directory_id text, key_id text, ciphertext bytea
) returns void
language plpgsql security definer set search_path = ''
as $$
declare
  v_job public.jobs;
  v_dir public.job_directories;
begin
  perform private.check_argument(coalesce(jobs_save_session.key_id, '') ~ '^[A-Za-z0-9_-]{1,32}$',
    'key_id must be 1 to 32 letters, digits, _ or -');
  perform private.check_argument(
    octet_length(jobs_save_session.ciphertext) between 29 and 256 * 1024 + 28,
    'ciphertext must be a sealed session of at most 256 KiB');
  v_job := private.leased_job(jobs_save_session.job_id, jobs_save_session.lease_token);
  select d.* into v_dir from public.job_directories d
   where d.job_id = v_job.id and d.directory_id = jobs_save_session.directory_id
   for update;
  if not found then
    raise exception 'directory % is not part of job %', jobs_save_session.directory_id, v_job.id
      using errcode = 'DB003';
  end if;
  if v_dir.status not in ('queued', 'in_progress') then
    raise exception 'directory % of job % is %, not being worked: its session is not kept',
      v_dir.directory_id, v_job.id, v_dir.status using errcode = 'DB002';
  end if;
  insert into private.directory_sessions as s (job_id, directory_id, key_id, ciphertext)
  values (v_job.id, v_dir.directory_id, jobs_save_session.key_id, jobs_save_session.ciphertext)
  on conflict on constraint directory_sessions_pkey do update
    set key_id = excluded.key_id, ciphertext = excluded.ciphertext, saved_at = now();
  -- Audited without its content: who saved a session for what, and how big it was.
  perform private.audit('worker:' || v_job.worker_id, 'directory.session_saved', v_job.id,
    v_dir.directory_id, v_dir.status::text, v_dir.status::text,
    jsonb_build_object('key_id', jobs_save_session.key_id,
      'bytes', octet_length(jobs_save_session.ciphertext)));
end;
$$;
revoke execute on function public.jobs_save_session(uuid, uuid, text, text, bytea)
  from public, anon, authenticated;
grant execute on function public.jobs_save_session(uuid, uuid, text, text, bytea) to service_role;

create function private.directory_sessions_forget() returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
  delete from private.directory_sessions s
   where s.job_id = new.job_id and s.directory_id = new.directory_id;
  return null;
end;
$$;
revoke execute on function private.directory_sessions_forget() from public, anon, authenticated;
create trigger job_directories_forget_session after update of status on public.job_directories
  for each row when (new.status not in ('queued', 'in_progress', 'waiting')
                     and old.status is distinct from new.status)
  execute function private.directory_sessions_forget();
