-- Why: after "I've done it" the customer's job page was to say so ("customer says done",
-- 20261205000300), but that note lives in job_directories.last_message, which is staff-only
-- since 20261205000420; the page never showed it and fell back to "the site showed no
-- confirmation", which is not what happened. The fact is now its own customer-readable
-- column, customer_done_at: set by customers_mark_action_done only, and cleared by a trigger
-- as soon as any other writer moves the directory on (a staff decision, a retry, a later
-- attempt's report change its status or note), so none of those functions has to know of it.
-- Not derived from the note's words: a worker's message could carry the same words.
--
-- customers_mark_action_done is redefined from 20261205000300: it sets customer_done_at, and
-- its audit actor is 'user:<uid>', as jobs_enqueue's is, the form job_report_details
-- recognises as the customer ('customer:<uid>' read as staff there).

alter table public.job_directories add column customer_done_at timestamptz;
comment on column public.job_directories.customer_done_at is
  'When the customer pressed "I''ve done it" (customers_mark_action_done), while the directory still waits on our team for it; null otherwise. The customer-readable side of the staff-only note in last_message.';

-- Any update that moves the status or the note without setting customer_done_at itself ends
-- the "you told us you did it" fact.
create function private.job_directories_end_customer_done()
returns trigger
language plpgsql set search_path = ''
as $$
begin
  if new.customer_done_at is not distinct from old.customer_done_at
     and (new.status is distinct from old.status or new.last_message is distinct from old.last_message) then
    new.customer_done_at := null;
  end if;
  return new;
end;
$$;
revoke execute on function private.job_directories_end_customer_done() from public;
create trigger job_directories_end_customer_done
  before update on public.job_directories
  for each row when (old.customer_done_at is not null)
  execute function private.job_directories_end_customer_done();

-- Customers read it (the column grants of 20261205000420 name each column; a new one is not
-- covered). Staff read the whole table already.
grant select (customer_done_at) on public.job_directories to authenticated;

-- From 20261205000300; it now sets customer_done_at, and audits as user:<uid>.
create or replace function public.customers_mark_action_done(job_id uuid, directory_id text)
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
     set status = 'needs_review', last_message = 'customer says done', customer_done_at = now()
   where d.job_id = v_dir.job_id and d.directory_id = v_dir.directory_id
  returning d.* into v_dir;
  perform private.audit('user:' || auth.uid()::text, 'directory.customer_done', v_dir.job_id,
    v_dir.directory_id, 'needs_action', 'needs_review',
    jsonb_build_object('note', 'customer says done', 'action_required', v_dir.action_required));
  return v_dir;
end;
$$;
revoke execute on function public.customers_mark_action_done(uuid, text) from public, anon;
grant execute on function public.customers_mark_action_done(uuid, text) to authenticated;
