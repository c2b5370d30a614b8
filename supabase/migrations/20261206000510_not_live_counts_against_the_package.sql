-- Why: with live checks (20261206000500) a listing counts once it exists on the directory.
-- What is delivered against the package is now:
--   delivered  submitted, live, already_listed (the lookup found it with the business's own
--              details: nothing to submit) and live_mismatch (up, one field wrong: the
--              listing exists and the customer is told which field)
--   not_live   NOT delivered: a submission never found at the last check. Like a directory
--              that could not take the business, it is replaced while the job is open
--              (pending, in_progress, paused, waiting) and owed back after completion.
--   working    queued, in progress, and parked (waiting for an email or a moderation delay).
-- Each definition below starts from its latest one (package_counts 20261205000540,
-- replace_directory 20261205000100) and changes only what is said here.

create or replace function private.package_counts(job_id uuid)
returns table (promised int, delivered int, in_hand int, replaced int, working int)
language sql stable set search_path = ''
as $$
  select t.directory_limit,
         count(*) filter (where d.status in ('submitted', 'live', 'already_listed', 'live_mismatch'))::int,
         count(*) filter (where d.status in ('needs_review', 'needs_action')
                            and d.replaced_by is null)::int,
         count(*) filter (where d.replaced_by is not null)::int,
         count(*) filter (where d.status in ('queued', 'in_progress', 'waiting'))::int
    from public.jobs j
    join public.tiers t on t.name = j.tier
    left join public.job_directories d on d.job_id = j.id
   where j.id = package_counts.job_id
   group by t.directory_limit
$$;

-- From 20261205000100: not_live is replaced as a directory that cannot take the business is,
-- and a waiting job (everything left parked) is open too; it is woken so a worker takes the
-- replacement now rather than at its wake time.
create or replace function private.replace_directory() returns trigger
language plpgsql security definer set search_path = ''
as $$
declare
  v_job public.jobs;
  v_tier public.tiers;
  v_next text;
begin
  if new.replaced_by is not null then
    return null;
  end if;
  if not ((new.status = 'skipped' and new.attempts > old.attempts)
          or (new.status = 'failed' and private.directory_cannot_take_business(new.last_error_code))
          or new.status = 'not_live') then
    return null;
  end if;
  -- Locks the job: two directories of one job replaced at once pick different successors.
  select j.* into v_job from public.jobs j where j.id = new.job_id for update;
  if v_job.status not in ('pending', 'in_progress', 'paused', 'waiting') then
    return null;
  end if;
  select t.* into v_tier from public.tiers t where t.name = v_job.tier;

  select d.id into v_next
    from public.directories d
    join public.tiers t on t.name = d.tier
   where private.directory_eligible(d, v_tier, v_job.business_snapshot)
     and not exists (select 1 from public.job_directories jd
                      where jd.job_id = v_job.id and jd.directory_id = d.id)
   order by t.rank, d.priority, d.id
   limit 1;
  if v_next is null then
    perform private.audit('system', 'job_directory.not_replaced', v_job.id, new.directory_id,
      null, null, jsonb_build_object('reason', 'no eligible directory left',
        'error_code', new.last_error_code));
    return null;
  end if;

  insert into public.job_directories (job_id, directory_id, position)
  select v_job.id, v_next, coalesce(max(jd.position), 0) + 1
    from public.job_directories jd where jd.job_id = v_job.id;
  update public.job_directories jd set replaced_by = v_next
   where jd.job_id = new.job_id and jd.directory_id = new.directory_id;
  perform private.audit('system', 'job_directory.replaced', v_job.id, new.directory_id,
    new.status::text, null, jsonb_strip_nulls(jsonb_build_object('replaced_by', v_next,
      'error_code', new.last_error_code)));
  perform private.audit('system', 'job_directory.added', v_job.id, v_next, null, 'queued',
    jsonb_build_object('replacing', new.directory_id));
  if v_job.status = 'waiting' then
    perform private.jobs_wake(v_job.id, 'system', 'replacement queued for ' || new.directory_id);
  end if;
  return null;
end;
$$;
drop trigger job_directories_replace_when_not_taken on public.job_directories;
create trigger job_directories_replace_when_not_taken after update of status on public.job_directories
  for each row when (new.status in ('skipped', 'failed', 'not_live') and old.status is distinct from new.status)
  execute function private.replace_directory();

-- From 20261205000540: a delivered listing found not live after the job completed owes its
-- share too (private.shortfall_settle works out what is short beyond what is already owed).
drop trigger job_directories_owe_when_settled_short on public.job_directories;
create trigger job_directories_owe_when_settled_short after update of status on public.job_directories
  for each row when ((old.status in ('needs_review', 'needs_action') and new.status in ('failed', 'skipped'))
                     or (new.status = 'not_live' and old.status is distinct from 'not_live'))
  execute function private.shortfall_owe_settled_directory();
