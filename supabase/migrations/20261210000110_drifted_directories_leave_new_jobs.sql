-- Why: a directory whose recipe drifted (directories.drifted_at, 20261210000100) must not be
-- given to a business until staff re-verify it, and a job that already holds it, not yet
-- started there, gets a replacement by the package-count rules (20261205000100).
--   * private.directory_eligible (latest 20261205000500): also `drifted_at is null`. It is the
--     one rule jobs_enqueue, the replacement trigger and the pricing page's count read, so a
--     drifted directory is neither picked, nor a replacement, nor counted as on offer.
--   * private.replace_directory (latest 20261206000510): a directory skipped with code
--     `recipe_drift` (directories_record_canary skips the queued ones) is replaced too, though
--     no attempt was reported. A worker's own `failed` with recipe_drift is unchanged (not
--     replaced: it may be retried once the recipe is fixed).

create or replace function private.directory_eligible(d public.directories, package public.tiers, business jsonb)
returns boolean
language sql stable set search_path = ''
as $$
  select d.enabled
     and d.drifted_at is null
     and (select t.rank from public.tiers t where t.name = d.tier) <= package.rank
     and (business is null or cardinality(d.countries) = 0
          or (business ->> 'country') = any (d.countries))
     and (business is null or cardinality(d.categories) = 0
          or (business ->> 'category') = any (d.categories))
$$;
revoke execute on function private.directory_eligible(public.directories, public.tiers, jsonb) from public;

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
          or (new.status = 'skipped' and new.last_error_code is not distinct from 'recipe_drift')
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
