-- Why: a directory "being checked by our team" (needs_review) had no team tool to check it
-- with, and one that "needs your action" (needs_action) could never be closed (issue 13, "no
-- dead ends"). Staff now settle both from the review queue, each through the orchestrator's
-- staff API: confirm the listing live, mark it submitted, mark it failed with a reason, or
-- retry it. The customer closes their own needs_action item with "I've done it", which hands it
-- to staff (needs_review, note "customer says done"); the reminder emails stop by themselves
-- because they are only about directories still in needs_action
-- (notifications_enqueue_reminders and the notifier re-read the status).
--
-- Every function locks the job, then the directory (the order the worker functions use, so
-- the two never deadlock), checks the directory's current state in the same transaction,
-- raises DB002 naming the directory and job otherwise, and writes one audit_log row.

-- The directory of a job, locked after its job. DB003 when the job or directory is not there.
create function private.review_directory_for_update(job_id uuid, directory_id text)
returns public.job_directories
language plpgsql set search_path = ''
as $$
declare
  v_dir public.job_directories;
begin
  perform private.job_for_update(review_directory_for_update.job_id);
  select d.* into v_dir from public.job_directories d
   where d.job_id = review_directory_for_update.job_id
     and d.directory_id = review_directory_for_update.directory_id
   for update;
  if not found then
    raise exception 'directory % is not part of job %', review_directory_for_update.directory_id,
      review_directory_for_update.job_id using errcode = 'DB003';
  end if;
  return v_dir;
end;
$$;

-- A listing URL staff or a customer hand us ends up as a link on the customer's pages and in
-- the report: only http(s), with a host, no whitespace, bounded.
create function private.review_check_listing_url(listing_url text, required boolean)
returns void
language plpgsql immutable set search_path = ''
as $$
begin
  if listing_url is null and not required then
    return;
  end if;
  perform private.check_argument(
    coalesce(listing_url ~ '^https?://[^\s/?#@]+(/\S*)?$' and length(listing_url) <= 2000, false),
    'listing_url must be an http(s) URL');
end;
$$;

-- A listing was found live on the directory (by staff or a later verification pass): the proof
-- the customer paid for. From submitted, or straight from needs_review once staff found the
-- listing the worker could not confirm (submitted_at is then the moment it was confirmed).
create or replace function public.jobs_confirm_live(job_id uuid, directory_id text, listing_url text, actor text)
returns public.job_directories
language plpgsql security definer set search_path = ''
as $$
declare
  v_dir public.job_directories;
  v_from public.job_directory_status;
begin
  perform private.check_actor(jobs_confirm_live.actor);
  perform private.review_check_listing_url(jobs_confirm_live.listing_url, true);
  v_dir := private.review_directory_for_update(jobs_confirm_live.job_id, jobs_confirm_live.directory_id);
  v_from := v_dir.status;
  if v_from not in ('submitted', 'needs_review') then
    raise exception 'directory % of job % is %; only a submitted listing or one needing review can go live',
      v_dir.directory_id, v_dir.job_id, v_from using errcode = 'DB002';
  end if;
  update public.job_directories d
     set status = 'live', listing_url = jobs_confirm_live.listing_url,
         submitted_at = coalesce(d.submitted_at, now())
   where d.job_id = v_dir.job_id and d.directory_id = v_dir.directory_id
  returning d.* into v_dir;
  perform private.audit(jobs_confirm_live.actor, 'directory.live', v_dir.job_id, v_dir.directory_id,
    v_from::text, 'live', jsonb_build_object('listing_url', v_dir.listing_url));
  return v_dir;
end;
$$;
revoke execute on function public.jobs_confirm_live(uuid, text, text, text) from public;
grant execute on function public.jobs_confirm_live(uuid, text, text, text) to service_role;

-- Staff checked the directory and the submission is there (e.g. awaiting the site's
-- moderation), or the customer's action went through: submitted, never to be submitted again.
create function public.jobs_mark_submitted(
  job_id uuid, directory_id text, actor text, listing_url text default null
) returns public.job_directories
language plpgsql security definer set search_path = ''
as $$
declare
  v_dir public.job_directories;
  v_from public.job_directory_status;
begin
  perform private.check_actor(jobs_mark_submitted.actor);
  perform private.review_check_listing_url(jobs_mark_submitted.listing_url, false);
  v_dir := private.review_directory_for_update(jobs_mark_submitted.job_id, jobs_mark_submitted.directory_id);
  v_from := v_dir.status;
  if v_from not in ('needs_review', 'needs_action') then
    raise exception 'directory % of job % is %; only a directory needing review or action can be marked submitted',
      v_dir.directory_id, v_dir.job_id, v_from using errcode = 'DB002';
  end if;
  update public.job_directories d
     set status = 'submitted', submitted_at = coalesce(d.submitted_at, now()),
         listing_url = coalesce(jobs_mark_submitted.listing_url, d.listing_url)
   where d.job_id = v_dir.job_id and d.directory_id = v_dir.directory_id
  returning d.* into v_dir;
  perform private.audit(jobs_mark_submitted.actor, 'directory.marked_submitted', v_dir.job_id,
    v_dir.directory_id, v_from::text, 'submitted',
    jsonb_strip_nulls(jsonb_build_object('listing_url', jobs_mark_submitted.listing_url)));
  return v_dir;
end;
$$;
revoke execute on function public.jobs_mark_submitted(uuid, text, text, text) from public;
grant execute on function public.jobs_mark_submitted(uuid, text, text, text) to service_role;

-- Staff checked and the directory did not take the business. The reason is for staff (it may
-- name selectors or the site's words); the customer reads the plain words for the code
-- 'review_failed' (portal/reports/progress.py).
create function public.jobs_mark_failed(job_id uuid, directory_id text, reason text, actor text)
returns public.job_directories
language plpgsql security definer set search_path = ''
as $$
declare
  v_dir public.job_directories;
  v_from public.job_directory_status;
begin
  perform private.check_actor(jobs_mark_failed.actor);
  perform private.check_argument(btrim(coalesce(jobs_mark_failed.reason, '')) <> '',
    'reason is required');
  perform private.check_argument(length(jobs_mark_failed.reason) <= 2000,
    'reason must be at most 2000 characters');
  v_dir := private.review_directory_for_update(jobs_mark_failed.job_id, jobs_mark_failed.directory_id);
  v_from := v_dir.status;
  if v_from not in ('needs_review', 'needs_action') then
    raise exception 'directory % of job % is %; only a directory needing review or action can be marked failed',
      v_dir.directory_id, v_dir.job_id, v_from using errcode = 'DB002';
  end if;
  update public.job_directories d
     set status = 'failed', last_error_code = 'review_failed',
         last_message = btrim(jobs_mark_failed.reason)
   where d.job_id = v_dir.job_id and d.directory_id = v_dir.directory_id
  returning d.* into v_dir;
  perform private.audit(jobs_mark_failed.actor, 'directory.marked_failed', v_dir.job_id,
    v_dir.directory_id, v_from::text, 'failed',
    jsonb_build_object('reason', btrim(jobs_mark_failed.reason)));
  return v_dir;
end;
$$;
revoke execute on function public.jobs_mark_failed(uuid, text, text, text) from public;
grant execute on function public.jobs_mark_failed(uuid, text, text, text) to service_role;

-- Staff retry, extended from 20261129001400: besides failed directories, a directory needing
-- review or action may be queued again when staff name it (after checking the site shows no
-- submission: a blind retry of a needs_review directory could list the business twice, so a
-- retry without names still takes only the failed ones). A complete or failed job goes back
-- to pending so a worker picks the directories up; an in-progress job keeps its lease.
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
       and case when jobs_retry.directory_ids is null then d.status = 'failed'
                else d.directory_id = any (jobs_retry.directory_ids)
                     and d.status in ('failed', 'needs_review', 'needs_action') end
       for update
  ), retried as (
    update public.job_directories d
       set status = 'queued', max_attempts = d.attempts + 3
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
  end if;
  return v_retried;
end;
$$;
revoke execute on function public.jobs_retry(uuid, text[], text) from public;
grant execute on function public.jobs_retry(uuid, text[], text) to service_role;

-- The customer's "I've done it" on a needs_action item of their own job: it goes to staff to
-- check (needs_review, note "customer says done"), audited with the customer as actor. Called
-- by the portal under the customer's JWT; another customer's job (or a staff JWT, which has no
-- customer) is "not found", never told apart from a job that does not exist.
create function public.customers_mark_action_done(job_id uuid, directory_id text)
returns public.job_directories
language plpgsql security definer set search_path = ''
as $$
declare
  v_customer uuid := private.current_customer_id();
  v_job public.jobs;
  v_dir public.job_directories;
begin
  select j.* into v_job from public.jobs j
   where j.id = customers_mark_action_done.job_id and j.customer_id = v_customer
   for update;
  if v_customer is null or not found then
    raise exception 'directory % of job % not found', customers_mark_action_done.directory_id,
      customers_mark_action_done.job_id using errcode = 'DB003';
  end if;
  select d.* into v_dir from public.job_directories d
   where d.job_id = v_job.id and d.directory_id = customers_mark_action_done.directory_id
   for update;
  if not found then
    raise exception 'directory % of job % not found', customers_mark_action_done.directory_id,
      v_job.id using errcode = 'DB003';
  end if;
  if v_job.status = 'cancelled' then
    raise exception 'job % is cancelled; directory % needs nothing more', v_job.id, v_dir.directory_id
      using errcode = 'DB002';
  end if;
  if v_dir.status <> 'needs_action' then
    raise exception 'directory % of job % is %; only a directory needing your action can be marked done',
      v_dir.directory_id, v_job.id, v_dir.status using errcode = 'DB002';
  end if;
  update public.job_directories d
     set status = 'needs_review', last_message = 'customer says done'
   where d.job_id = v_dir.job_id and d.directory_id = v_dir.directory_id
  returning d.* into v_dir;
  perform private.audit('customer:' || auth.uid()::text, 'directory.customer_done', v_dir.job_id,
    v_dir.directory_id, 'needs_action', 'needs_review',
    jsonb_build_object('note', 'customer says done', 'action_required', v_dir.action_required));
  return v_dir;
end;
$$;
revoke execute on function public.customers_mark_action_done(uuid, text) from public, anon;
grant execute on function public.customers_mark_action_done(uuid, text) to authenticated;

-- The review queue reads needs_review and needs_action directories across every job, oldest
-- first (keyset on updated_at, job, directory), and the overview counts them.
create index job_directories_review_idx on public.job_directories (updated_at, job_id, directory_id)
  where status in ('needs_review', 'needs_action');
