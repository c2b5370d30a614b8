-- Why: with directories parked (20261206000200), a job whose work left is all waiting must
-- give its lease and its tier slot back and wait without a worker (issue 14, item 4), and be
-- handed out again when a parked directory is due: its email arrived (wake_mail_id, set by the
-- inbound-mail matcher, which wakes the job with private.jobs_wake), or its moderation delay
-- is over. An email that never comes is not waited for for ever.
--   - jobs_complete: waiting directories left (nothing queued or in progress) → the job is
--     `waiting` with wake_at = the earliest wait_until, or `pending` at once when one is
--     already due. Lease cleared (the tier slot goes back by the status trigger), audited
--     `job.parked`; the worker reads the returned status.
--   - jobs_assignment: what a claimed job's worker is handed — the directories to do
--     (queued, in progress, and parked ones that are due) with, for a directory that parked
--     in this job, its resume point (phase), its sealed session and the mail that woke it;
--     and the customer's mailbox local part. The orchestrator opens the session with its
--     vault and builds DirectoryTask.resume.
--   - jobs_start_directory takes a due parked directory (→ in_progress, phase kept).
--   - jobs_wake_due (the orchestrator's loop): an email wait past its deadline with no mail
--     signs up again once (queued at phase signup, its session dropped), and the second
--     time becomes needs_action naming the directory and the address its mail was asked
--     for; waiting jobs with work due become pending (private.jobs_wake), the others get
--     their wake_at moved to the next due time.
--   - Staff: pause takes a waiting job (its directories stay parked, their clocks running);
--     resume sends it back to waiting when nothing is due; cancel skips parked directories;
--     retry wakes a waiting job it gave work to and starts retried directories afresh.
--     queue_stats counts directories of waiting jobs as active.

alter table public.job_directories
  add column email_timeouts int not null default 0 check (email_timeouts >= 0);
comment on column public.job_directories.email_timeouts is
  'How many times this directory''s verification email never came: the first time it signs up again, the second it needs action.';

-- Customers see that a directory waits, for what and until when (their job page).
grant select (phase, wait_kind, wait_until) on public.job_directories to authenticated;

-- What a job nobody works on should be: pending when a worker has something to do (a queued
-- directory, a parked one that is due) or nothing is left to wait for (a worker then
-- completes it), waiting until its earliest parked directory's time otherwise.
create function private.job_idle_state(job_id uuid, out status public.job_status,
  out wake_at timestamptz)
language sql stable set search_path = ''
as $$
  select case when w.has_work or w.waiting = 0 then 'pending' else 'waiting' end::public.job_status,
         case when w.has_work or w.waiting = 0 then null else w.earliest end
    from (select coalesce(bool_or(d.status in ('queued', 'in_progress')
                                  or private.directory_is_due(d)), false) as has_work,
                 count(*) filter (where d.status = 'waiting') as waiting,
                 min(d.wait_until) filter (where d.status = 'waiting') as earliest
            from public.job_directories d where d.job_id = $1) w
$$;
revoke execute on function private.job_idle_state(uuid) from public, anon, authenticated;

create or replace function public.jobs_complete(job_id uuid, lease_token uuid) returns public.jobs
language plpgsql security definer set search_path = ''
as $$
declare
  v_job public.jobs;
  v_worker text;
  v_remaining int;
  v_idle record;
begin
  v_job := private.leased_job(jobs_complete.job_id, jobs_complete.lease_token);
  v_worker := v_job.worker_id;
  select count(*) into v_remaining from public.job_directories d
   where d.job_id = v_job.id and d.status in ('queued', 'in_progress');
  if v_remaining > 0 then
    raise exception 'job % still has % directories to do', v_job.id, v_remaining
      using errcode = 'DB002';
  end if;

  if exists (select 1 from public.job_directories d
              where d.job_id = v_job.id and d.status = 'waiting') then
    -- Parked directories left: no lease is held while they wait.
    select * into v_idle from private.job_idle_state(v_job.id);
    update public.jobs j
       set status = v_idle.status, wake_at = v_idle.wake_at,
           lease_token = null, lease_expires_at = null, worker_id = null
     where j.id = v_job.id
    returning j.* into v_job;
    perform private.worker_seen(v_worker, null, null);
    perform private.audit('worker:' || v_worker, 'job.parked', v_job.id, null, 'in_progress',
      v_job.status::text, jsonb_strip_nulls(jsonb_build_object('wake_at', v_job.wake_at,
        'waiting', (select count(*) from public.job_directories d
                     where d.job_id = v_job.id and d.status = 'waiting'),
        'due', case when v_job.status = 'pending' then true end)));
    return v_job;
  end if;

  update public.jobs j
     set status = 'complete', completed_at = now(),
         lease_token = null, lease_expires_at = null, worker_id = null
   where j.id = v_job.id
  returning j.* into v_job;

  insert into public.job_reports as r (job_id, summary)
  values (v_job.id, private.job_summary(v_job.id))
  on conflict on constraint job_reports_pkey
    do update set summary = excluded.summary, created_at = now();

  perform private.worker_seen(v_worker, null, null);
  perform private.audit('worker:' || v_worker,
    'job.completed', v_job.id, null, 'in_progress', 'complete', '{}');
  return v_job;
end;
$$;

-- Marks a directory as being worked on, so progress shows it and a lost lease re-queues it.
-- A parked directory that is due resumes here (its phase, session and mail stay for the
-- worker); one that is not due is refused.
create or replace function public.jobs_start_directory(job_id uuid, lease_token uuid, directory_id text)
returns public.job_directories
language plpgsql security definer set search_path = ''
as $$
declare
  v_job public.jobs;
  v_dir public.job_directories;
  v_from public.job_directory_status;
begin
  v_job := private.leased_job(jobs_start_directory.job_id, jobs_start_directory.lease_token);
  select d.* into v_dir from public.job_directories d
   where d.job_id = v_job.id and d.directory_id = jobs_start_directory.directory_id
   for update;
  if not found then
    raise exception 'directory % is not part of job %', jobs_start_directory.directory_id, v_job.id
      using errcode = 'DB003';
  end if;
  if v_dir.status = 'in_progress' then
    return v_dir;
  end if;
  if v_dir.status = 'waiting' and not private.directory_is_due(v_dir) then
    raise exception 'directory % of job % is waiting for its % until %, not due yet',
      v_dir.directory_id, v_job.id, v_dir.wait_kind, v_dir.wait_until using errcode = 'DB002';
  end if;
  if v_dir.status not in ('queued', 'waiting') then
    raise exception 'directory % of job % is %, not queued', v_dir.directory_id, v_job.id, v_dir.status
      using errcode = 'DB002';
  end if;
  v_from := v_dir.status;
  update public.job_directories d set status = 'in_progress'
   where d.job_id = v_dir.job_id and d.directory_id = v_dir.directory_id
  returning d.* into v_dir;
  perform private.audit('worker:' || v_job.worker_id,
    case when v_from = 'waiting' then 'directory.resumed' else 'directory.started' end, v_job.id,
    v_dir.directory_id, v_from::text, 'in_progress',
    jsonb_strip_nulls(jsonb_build_object('attempt', v_dir.attempts + 1,
      'phase', case when v_from = 'waiting' then v_dir.phase end,
      'wake_mail_id', case when v_from = 'waiting' then v_dir.wake_mail_id end)));
  return v_dir;
end;
$$;

-- What the worker holding the job is handed: the directories to do, in order, each with what
-- it needs to resume if it parked in this job (`resume`: phase, the sealed session as
-- {key_id, ciphertext (base64)} and the mail that woke it), and the customer's campaign
-- mailbox local part. Under the lease: only the job's worker reads sessions and mail.
create function public.jobs_assignment(job_id uuid, lease_token uuid) returns jsonb
language plpgsql security definer set search_path = ''
as $$
declare
  v_job public.jobs;
begin
  v_job := private.leased_job(jobs_assignment.job_id, jobs_assignment.lease_token);
  return jsonb_build_object(
    'mailbox_local_part', (select m.local_part from public.customer_mailboxes m
                            where m.customer_id = v_job.customer_id),
    'directories', coalesce((
      select jsonb_agg(jsonb_build_object(
               'directory_id', jd.directory_id, 'name', d.name, 'position', jd.position,
               'status', jd.status, 'attempts', jd.attempts, 'max_attempts', jd.max_attempts,
               'homepage', d.homepage, 'submit_url', d.submit_url,
               'captcha_kind', d.captcha_kind, 'requirements', d.requirements,
               'proxy_required', d.proxy_required, 'mode', d.mode, 'recipe', d.recipe,
               'countries', d.countries, 'phone_countries', d.phone_countries,
               'category_map', d.category_map,
               -- Set only by parking (and a sign-up restarted), cleared by a staff retry: a
               -- directory with a phase resumes there.
               'resume', case when jd.phase is not null then jsonb_build_object(
                 'phase', jd.phase,
                 'session', case when s.job_id is not null then jsonb_build_object(
                   'key_id', s.key_id, 'ciphertext', encode(s.ciphertext, 'base64')) end,
                 'mail', case when m.id is not null then jsonb_build_object(
                   'id', m.id, 'sender', m.sender, 'recipient', m.recipient, 'subject', m.subject,
                   'text', m.body_text, 'html', m.body_html, 'received_at', m.received_at) end)
               end)
               order by jd.position)
        from public.job_directories jd
        join public.directories d on d.id = jd.directory_id
        left join private.directory_sessions s
          on s.job_id = jd.job_id and s.directory_id = jd.directory_id
        left join public.inbound_emails m on m.id = jd.wake_mail_id
       where jd.job_id = v_job.id
         and (jd.status in ('queued', 'in_progress') or private.directory_is_due(jd))
    ), '[]'::jsonb));
end;
$$;
revoke execute on function public.jobs_assignment(uuid, uuid) from public, anon, authenticated;
grant execute on function public.jobs_assignment(uuid, uuid) to service_role;

-- A waiting job after its directories changed: pending (announced to workers) when it has
-- work due or nothing left to wait for, otherwise still waiting until the next due time.
create function private.jobs_settle_waiting(job_id uuid, actor text, why text) returns boolean
language plpgsql set search_path = ''
as $$
declare
  v_idle record;
begin
  select * into v_idle from private.job_idle_state(jobs_settle_waiting.job_id);
  if v_idle.status = 'pending' then
    return private.jobs_wake(jobs_settle_waiting.job_id, jobs_settle_waiting.actor,
      jobs_settle_waiting.why);
  end if;
  update public.jobs j set wake_at = v_idle.wake_at
   where j.id = jobs_settle_waiting.job_id and j.status = 'waiting'
     and j.wake_at is distinct from v_idle.wake_at;
  return false;
end;
$$;
revoke execute on function private.jobs_settle_waiting(uuid, text, text)
  from public, anon, authenticated;

-- The words a customer reads when a directory's confirmation email never came, twice.
-- What they can do: nothing is required (staff look into it); if they want to help, they
-- can sign in with the account we opened (its login is in their portal) and ask the site to
-- send the email again — it comes to our mailbox — and tell us they've done it.
create function private.email_never_came_words(directory_name text, homepage text, mailbox text)
returns text
language sql immutable set search_path = ''
as $$
  select format('We opened your account at %s with the address %s and asked %s for its '
      || 'confirmation email twice, but it never arrived, so your listing there is not finished. '
      || 'Our team is looking into it. If you would like to help: sign in at %s with the login '
      || 'shown in your portal, ask the site to send its confirmation email again (it comes to '
      || 'us), then tell us you''ve done it.', $1, $3, $1, $2)
$$;
revoke execute on function private.email_never_came_words(text, text, text)
  from public, anon, authenticated;

create function public.jobs_wake_due(actor text, mailbox_domain text)
returns table (job_id uuid, directory_id text, action text)
language plpgsql security definer set search_path = ''
as $$
declare
  v_candidate record;
  v_job public.jobs;
  v_dir public.job_directories;
  v_directory public.directories;
  v_mailbox text;
begin
  perform private.check_actor(jobs_wake_due.actor);
  perform private.check_argument(coalesce(jobs_wake_due.mailbox_domain, '')
      ~ '^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$',
    'mailbox_domain must be a domain name (e.g. mail.example.com)');

  -- 1. Email waits past their deadline with no mail, in jobs still open for work (a paused
  --    job's are left for when it resumes).
  for v_candidate in
    select d.job_id, d.directory_id from public.job_directories d
      join public.jobs j on j.id = d.job_id
     where d.status = 'waiting' and d.wait_kind = 'email' and d.wake_mail_id is null
       and d.wait_until <= now() and j.status in ('waiting', 'pending', 'in_progress')
     order by d.wait_until
     limit 500
  loop
    -- The job first, then the directory (the order every queue function locks in); what a
    -- worker, another replica or the mail matcher holds right now is left for the next round
    -- (never waited for, so no lock order elsewhere can deadlock with this loop).
    select j.* into v_job from public.jobs j
     where j.id = v_candidate.job_id and j.status in ('waiting', 'pending', 'in_progress')
       for update skip locked;
    continue when not found;
    select d.* into v_dir from public.job_directories d
     where d.job_id = v_candidate.job_id and d.directory_id = v_candidate.directory_id
       and d.status = 'waiting' and d.wait_kind = 'email' and d.wake_mail_id is null
       and d.wait_until <= now()
       for update skip locked;
    continue when not found;
    select dd.* into v_directory from public.directories dd where dd.id = v_dir.directory_id;
    v_mailbox := coalesce((select m.local_part from public.customer_mailboxes m
                            where m.customer_id = v_job.customer_id) || '@' || jobs_wake_due.mailbox_domain,
                          'the mailbox we keep for you');

    if v_dir.email_timeouts = 0 then
      -- Once: sign up again from scratch (the first request may have been lost).
      delete from private.directory_sessions s
       where s.job_id = v_dir.job_id and s.directory_id = v_dir.directory_id;
      update public.job_directories d
         set status = 'queued', phase = 'signup', email_timeouts = d.email_timeouts + 1,
             last_message = format('No confirmation email from %s reached %s by %s; signing up again (once).',
               v_directory.name, v_mailbox, v_dir.wait_until)
       where d.job_id = v_dir.job_id and d.directory_id = v_dir.directory_id;
      perform private.audit(jobs_wake_due.actor, 'directory.email_timed_out', v_dir.job_id,
        v_dir.directory_id, 'waiting', 'queued', jsonb_build_object('waited_until', v_dir.wait_until,
          'mailbox', v_mailbox, 'then', 'signup again (once)', 'phase', v_dir.phase));
      job_id := v_dir.job_id; directory_id := v_dir.directory_id; action := 're_signup';
    else
      update public.job_directories d
         set status = 'needs_action', email_timeouts = d.email_timeouts + 1,
             action_required = private.email_never_came_words(v_directory.name,
               v_directory.homepage, v_mailbox),
             last_message = format('No confirmation email from %s reached %s by %s, after signing up again; a customer or staff action is needed.',
               v_directory.name, v_mailbox, v_dir.wait_until)
       where d.job_id = v_dir.job_id and d.directory_id = v_dir.directory_id;
      perform private.audit(jobs_wake_due.actor, 'directory.email_timed_out', v_dir.job_id,
        v_dir.directory_id, 'waiting', 'needs_action', jsonb_build_object(
          'waited_until', v_dir.wait_until, 'mailbox', v_mailbox, 'then', 'needs_action',
          'timeouts', v_dir.email_timeouts + 1));
      job_id := v_dir.job_id; directory_id := v_dir.directory_id; action := 'needs_action';
    end if;
    return next;
    if v_job.status = 'waiting' then
      if private.jobs_settle_waiting(v_job.id, jobs_wake_due.actor, 'an email wait timed out') then
        job_id := v_job.id; directory_id := null; action := 'woken';
        return next;
      end if;
    end if;
  end loop;

  -- 2. Waiting jobs whose time has come: pending if work is due, else the next wake time.
  for v_candidate in
    select j.id from public.jobs j
     where j.status = 'waiting' and j.wake_at <= now()
     order by j.wake_at
     limit 500
  loop
    select j.* into v_job from public.jobs j
     where j.id = v_candidate.id and j.status = 'waiting' and j.wake_at <= now()
       for update skip locked;
    continue when not found;
    if private.jobs_settle_waiting(v_job.id, jobs_wake_due.actor, 'a parked directory is due') then
      job_id := v_job.id; directory_id := null; action := 'woken';
      return next;
    end if;
  end loop;
end;
$$;
revoke execute on function public.jobs_wake_due(text, text) from public, anon, authenticated;
grant execute on function public.jobs_wake_due(text, text) to service_role;

-- Staff ----------------------------------------------------------------------------------

-- Pausing takes the lease away (a waiting job has none); parked directories stay parked.
create or replace function public.jobs_pause(job_id uuid, actor text, reason text default null)
returns public.jobs
language plpgsql security definer set search_path = ''
as $$
declare
  v_job public.jobs;
  v_from public.job_status;
  v_reason text := private.check_staff_reason(jobs_pause.reason);
begin
  perform private.check_actor(jobs_pause.actor);
  v_job := private.job_for_update(jobs_pause.job_id);
  v_from := v_job.status;
  if v_from not in ('pending', 'in_progress', 'waiting') then
    raise exception 'job % is %; only a pending, in-progress or waiting job can be paused',
      v_job.id, v_from using errcode = 'DB002';
  end if;
  perform private.hold_fenced_directories(v_job.id, jobs_pause.actor, 'paused');
  perform private.move_directories(v_job.id, '{in_progress}', 'queued', jobs_pause.actor,
    'directory.paused');
  update public.jobs j
     set status = 'paused', lease_token = null, lease_expires_at = null, worker_id = null,
         wake_at = null, staff_reason = v_reason
   where j.id = v_job.id
  returning j.* into v_job;
  perform private.audit(jobs_pause.actor, 'job.paused', v_job.id, null, v_from::text, 'paused',
    jsonb_strip_nulls(jsonb_build_object('reason', v_reason)));
  return v_job;
end;
$$;

-- A resumed job is pending when there is work to do now; when all it has left is parked and
-- not yet due, it goes back to waiting (no worker claims it for nothing).
create or replace function public.jobs_resume(job_id uuid, actor text) returns public.jobs
language plpgsql security definer set search_path = ''
as $$
declare
  v_job public.jobs;
  v_idle record;
begin
  perform private.check_actor(jobs_resume.actor);
  v_job := private.job_for_update(jobs_resume.job_id);
  if v_job.status <> 'paused' then
    raise exception 'job % is %; only a paused job can be resumed', v_job.id, v_job.status
      using errcode = 'DB002';
  end if;
  select * into v_idle from private.job_idle_state(v_job.id);
  update public.jobs j set status = v_idle.status, wake_at = v_idle.wake_at
   where j.id = v_job.id returning j.* into v_job;
  perform private.audit(jobs_resume.actor, 'job.resumed', v_job.id, null, 'paused',
    v_job.status::text, jsonb_strip_nulls(jsonb_build_object('wake_at', v_job.wake_at)));
  return v_job;
end;
$$;

-- Cancelling skips parked directories too (their sessions go with them, by trigger).
create or replace function public.jobs_cancel(job_id uuid, actor text, reason text default null)
returns public.jobs
language plpgsql security definer set search_path = ''
as $$
declare
  v_job public.jobs;
  v_from public.job_status;
  v_reason text := private.check_staff_reason(jobs_cancel.reason);
begin
  perform private.check_actor(jobs_cancel.actor);
  v_job := private.job_for_update(jobs_cancel.job_id);
  v_from := v_job.status;
  if v_from in ('complete', 'failed', 'cancelled') then
    raise exception 'job % is already %', v_job.id, v_from using errcode = 'DB002';
  end if;
  perform private.hold_fenced_directories(v_job.id, jobs_cancel.actor, 'cancelled');
  perform private.move_directories(v_job.id, '{queued,in_progress,waiting}', 'skipped',
    jobs_cancel.actor, 'directory.cancelled', 'job cancelled');
  update public.jobs j
     set status = 'cancelled', lease_token = null, lease_expires_at = null, worker_id = null,
         wake_at = null, staff_reason = v_reason
   where j.id = v_job.id
  returning j.* into v_job;
  perform private.audit(jobs_cancel.actor, 'job.cancelled', v_job.id, null, v_from::text,
    'cancelled', jsonb_strip_nulls(jsonb_build_object('reason', v_reason)));
  return v_job;
end;
$$;

-- As 20261205000530, and: a retried directory starts afresh (no resume point, no spent
-- mail); a waiting job given work is woken.
create or replace function public.jobs_retry(job_id uuid, directory_ids text[] default null, actor text default null)
returns int
language plpgsql security definer set search_path = ''
as $$
declare
  v_job public.jobs;
  v_not_retryable text;
  v_retried int;
begin
  perform private.check_actor(jobs_retry.actor);
  perform private.check_argument(
    jobs_retry.directory_ids is null or cardinality(jobs_retry.directory_ids) > 0,
    'directory_ids must name at least one directory, or be null for all failed ones');
  v_job := private.job_for_update(jobs_retry.job_id);
  if v_job.status = 'cancelled' then
    raise exception 'job % is cancelled and cannot be retried', v_job.id using errcode = 'DB002';
  end if;

  if jobs_retry.directory_ids is not null then
    select string_agg(format('%s (%s)', wanted.id, coalesce(d.status::text, 'not in this job')), ', ')
      into v_not_retryable
      from unnest(jobs_retry.directory_ids) as wanted(id)
      left join public.job_directories d on d.job_id = v_job.id and d.directory_id = wanted.id
     where d.status is null or d.status not in ('failed', 'needs_review', 'needs_action');
    if v_not_retryable is not null then
      raise exception 'only failed directories or ones needing review or action can be retried; job % has: %',
        v_job.id, v_not_retryable using errcode = 'DB002';
    end if;
  end if;

  with target as (
    select d.directory_id, d.status
      from public.job_directories d
     where d.job_id = v_job.id
       -- Unnamed, only what a retry can help: not a directory another one replaced (the
       -- replacement holds its place), nor one staff settled as failed after checking it.
       and case when jobs_retry.directory_ids is null
                then d.status = 'failed' and d.replaced_by is null
                     and d.last_error_code is distinct from 'review_failed'
                else d.directory_id = any (jobs_retry.directory_ids)
                     and d.status in ('failed', 'needs_review', 'needs_action') end
       for update
  ), retried as (
    update public.job_directories d
       set status = 'queued', max_attempts = d.attempts + 3, phase = null, wake_mail_id = null
      from target t
     where d.job_id = v_job.id and d.directory_id = t.directory_id
    returning d.directory_id, t.status as from_status
  ), audited as (
    insert into public.audit_log (actor, action, job_id, directory_id, from_status, to_status)
    select jobs_retry.actor, 'directory.retried', v_job.id, r.directory_id, r.from_status::text, 'queued'
      from retried r
    returning 1
  )
  select count(*) into v_retried from audited;

  -- A job failed for losing too many leases may have nothing failed, only queued work left.
  if v_retried = 0 and not (v_job.status = 'failed' and exists (
       select 1 from public.job_directories d where d.job_id = v_job.id and d.status = 'queued')) then
    raise exception 'job % has no failed directories to retry', v_job.id using errcode = 'DB002';
  end if;

  if v_job.status in ('complete', 'failed') then
    update public.jobs j
       set status = 'pending', completed_at = null, lost_leases = 0
     where j.id = v_job.id;
    perform private.audit(jobs_retry.actor, 'job.retried', v_job.id, null, v_job.status::text,
      'pending', jsonb_build_object('directories', v_retried));
  elsif v_job.status = 'waiting' then
    perform private.jobs_wake(v_job.id, jobs_retry.actor, 'staff retry');
  end if;
  return v_retried;
end;
$$;

-- One read for /healthz, /metrics and the dashboard. As 20261129001400, with the directories
-- of waiting jobs counted as active (they are not done; they wait for a mail or a time).
create or replace function public.queue_stats() returns jsonb
language sql stable security definer set search_path = ''
as $$
  with attempts as (
    select r.attempt, r.outcome, r.error_code, r.captcha_kind, r.captcha_solved
      from public.job_results r
     where r.reported_at > now() - interval '1 hour'
  )
  select jsonb_build_object(
    'jobs', (
      select jsonb_object_agg(s.status, coalesce(c.n, 0))
        from unnest(enum_range(null::public.job_status)) as s(status)
        left join (select j.status, count(*) as n from public.jobs j group by j.status) c
          on c.status = s.status
    ),
    'directories', (
      select jsonb_object_agg(s.status, coalesce(c.n, 0))
        from unnest(enum_range(null::public.job_directory_status)) as s(status)
        left join (
          select d.status, count(*) as n from public.job_directories d
            join public.jobs j on j.id = d.job_id
           where j.status in ('pending', 'in_progress', 'paused', 'waiting')
           group by d.status
        ) c on c.status = s.status
    ),
    'tiers', (
      select jsonb_object_agg(t.name, jsonb_build_object('running', t.running,
               'max_running', t.max_running, 'effective_max_running', t.effective_max_running,
               'throttled', t.throttled_max_running is not null))
        from public.tiers t
    ),
    'oldest_pending_seconds', (
      select coalesce(extract(epoch from now() - min(j.created_at)), 0)::bigint
        from public.jobs j where j.status = 'pending'
    ),
    'active_workers', (
      select count(*) from public.workers w where w.last_seen_at > now() - interval '2 minutes'
    ),
    'completed_last_hour', (
      select count(*) from public.jobs j where j.completed_at > now() - interval '1 hour'
    ),
    'attempts_last_hour', (select count(*) from attempts),
    'retry_rate', (
      select coalesce(round(count(*) filter (where a.attempt > 1)::numeric / nullif(count(*), 0), 4), 0)
        from attempts a
    ),
    'captchas_solved_last_hour', (select count(*) from attempts a where a.captcha_solved),
    'captchas_failed_last_hour', (
      select count(*) from attempts a where a.captcha_kind is not null and not a.captcha_solved
    ),
    'proxy_failures_last_hour', (
      select count(*) from attempts a where a.error_code = 'proxy_error'
    )
  )
$$;
