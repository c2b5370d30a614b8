-- Why (issue 17): two gaps between the catalogue and the directories table.
-- 1. directories.json now says "not known yet" for most real sites' facts (captcha_kind
--    "unknown", requirements null) and names more requirements (postcard verification, paid
--    listing, manual vetting, a physical address). The table's checks took neither, so the
--    sync would have had to write 'none' and no requirements: facts nobody checked. The
--    checks now take them, and an enabled directory must have its facts known (a job's
--    worker reads them); requirements null means not known, '{}' nothing beyond the form.
-- 2. Staff's switch on the Directory health page set `enabled`, which the next
--    `dbolt directories sync` (every deploy) copied over from directories.json: a directory
--    staff took out at 3 a.m. came back with the morning's deploy. Staff's choice is now its
--    own column, staff_disabled_at, which the sync never writes; a directory is in use when
--    the catalogue enables it, staff have not taken it out and no canary found it drifted.

alter table public.directories drop constraint directories_captcha_kind_check;
alter table public.directories add constraint directories_captcha_kind_check
  check (captcha_kind in ('none', 'image', 'recaptcha_v2', 'hcaptcha', 'turnstile', 'unknown'));
alter table public.directories alter column requirements drop not null;
alter table public.directories drop constraint directories_requirements_check;
alter table public.directories add constraint directories_requirements_check
  check (requirements <@ array['account', 'email_verification', 'phone_verification',
                               'postcard_verification', 'paid_listing', 'manual_vetting',
                               'physical_address']);
alter table public.directories add constraint directories_enabled_facts_known
  check (not enabled or (captcha_kind <> 'unknown' and requirements is not null));
comment on column public.directories.requirements is
  'What listing there takes beyond the form; null: not known yet (an unscouted catalogue entry).';

alter table public.directories
  add column staff_disabled_at timestamptz,
  add column staff_disabled_by text;
comment on column public.directories.staff_disabled_at is
  'When staff took the directory out of new jobs (staff_directory_set_enabled); null: staff '
  'have not. Never written by directories_sync, so a deploy does not undo it.';

-- From the latest body (20261210000110), plus staff's switch.
create or replace function private.directory_eligible(d public.directories, package public.tiers, business jsonb)
returns boolean
language sql stable set search_path = ''
as $$
  select d.enabled
     and d.staff_disabled_at is null
     and d.drifted_at is null
     and (select t.rank from public.tiers t where t.name = d.tier) <= package.rank
     and (business is null or cardinality(d.countries) = 0
          or (business ->> 'country') = any (d.countries))
     and (business is null or cardinality(d.categories) = 0
          or (business ->> 'category') = any (d.categories))
$$;
revoke execute on function private.directory_eligible(public.directories, public.tiers, jsonb) from public;

-- From the latest body (20261210000200): the switch writes staff_disabled_at, not enabled,
-- and refuses to switch on a directory the catalogue keeps off (its recipe is not verified:
-- that change is a reviewed edit of directories.json).
create or replace function public.staff_directory_set_enabled(directory_id text, enabled boolean) returns jsonb
language plpgsql security definer set search_path = ''
as $$
declare
  v_dir public.directories;
  v_was boolean;
begin
  perform private.require_staff();
  perform private.check_argument(staff_directory_set_enabled.enabled is not null, 'enabled is required');
  select d.* into v_dir from public.directories d
   where d.id = staff_directory_set_enabled.directory_id for no key update;
  if not found then
    raise exception 'directory % not found', staff_directory_set_enabled.directory_id using errcode = 'DB003';
  end if;
  perform private.check_argument(v_dir.enabled or not staff_directory_set_enabled.enabled,
    format('directory %s is off in the catalogue (directories.json): it is enabled there, '
           'once its recipe is verified', v_dir.id));
  v_was := v_dir.enabled and v_dir.staff_disabled_at is null;
  if v_was is distinct from staff_directory_set_enabled.enabled then
    update public.directories d
       set staff_disabled_at = case when staff_directory_set_enabled.enabled then null else now() end,
           staff_disabled_by = case when staff_directory_set_enabled.enabled then null
                                    else private.staff_actor() end
     where d.id = v_dir.id;
    perform private.audit(private.staff_actor(),
      case when staff_directory_set_enabled.enabled then 'directory.enabled' else 'directory.disabled' end,
      null, v_dir.id,
      case when v_was then 'enabled' else 'disabled' end,
      case when staff_directory_set_enabled.enabled then 'enabled' else 'disabled' end, '{}');
  end if;
  return jsonb_build_object('directory_id', v_dir.id, 'enabled', staff_directory_set_enabled.enabled,
    'changed', v_was is distinct from staff_directory_set_enabled.enabled);
end;
$$;

-- From the latest body (20261210000200): "enabled" is whether the directory is in use as far
-- as the catalogue and staff go (the switch's state); drifted stays its own column.
create or replace function public.staff_directory_health()
returns table (
  directory_id text,
  name text,
  enabled boolean,
  mode text,
  tier text,
  verified_at timestamptz,
  drifted_at timestamptz,
  signed_at timestamptz,
  signature_digest text,
  last_canary_at timestamptz,
  last_canary_ok boolean,
  last_canary_failed_step text,
  last_canary_error text,
  attempts_7d bigint,
  finished_7d bigint,
  success_rate_7d numeric,
  attempts_30d bigint,
  finished_30d bigint,
  success_rate_30d numeric,
  median_attempt_ms_30d int,
  timed_attempts_30d int,
  captcha_rate_30d numeric,
  captcha_solved_rate_30d numeric,
  canary_runs bigint,
  drift_count bigint,
  last_drift_at timestamptz
)
language plpgsql stable security definer set search_path = ''
as $$
declare
  v_now constant timestamptz := now();
begin
  perform private.require_staff();
  return query
  with week as (
    select t.directory_id as id, t.attempts as n, t.succeeded + t.failed as done, t.succeeded as ok
      from private.directory_attempts_between(v_now - interval '7 days', 'infinity') t
  ),
  month as (
    select t.directory_id as id, t.attempts as n, t.succeeded + t.failed as done, t.succeeded as ok
      from private.directory_attempts_between(v_now - interval '30 days', 'infinity') t
  ),
  captchas as (
    select a.directory_id as id, sum(a.attempts) as n,
           sum(a.captchas_solved) as solved, sum(a.captchas_failed) as failed
      from private.attempt_rollups a
     where a.bucket_hours = 24 and a.directory_id <> ''
       and a.bucket >= date_bin('1 day', v_now - interval '30 days', timestamptz '2000-01-01 00:00:00+00')
     group by a.directory_id
  ),
  runs as (
    select r.directory_id as id, count(*) as n,
           count(*) filter (where r.raised_drift) as drifts,
           max(r.ran_at) filter (where not r.ok) as last_bad
      from public.directory_canary_runs r
     group by r.directory_id
  )
  select d.id, d.name, d.enabled and d.staff_disabled_at is null, d.mode, d.tier, d.verified_at, d.drifted_at, d.signed_at,
         d.signature_digest,
         lc.ran_at, lc.ok, lc.failed_step, lc.error,
         coalesce(w.n, 0)::bigint, coalesce(w.done, 0)::bigint, round(w.ok::numeric / nullif(w.done, 0), 4),
         coalesce(m.n, 0)::bigint, coalesce(m.done, 0)::bigint, round(m.ok::numeric / nullif(m.done, 0), 4),
         md.median_ms, coalesce(md.timed, 0),
         round((c.solved + c.failed)::numeric / nullif(c.n, 0), 4),
         round(c.solved::numeric / nullif(c.solved + c.failed, 0), 4),
         coalesce(rn.n, 0)::bigint, coalesce(rn.drifts, 0)::bigint, rn.last_bad
    from public.directories d
    left join week w on w.id = d.id
    left join month m on m.id = d.id
    left join captchas c on c.id = d.id
    left join runs rn on rn.id = d.id
    left join lateral (
      select r.ran_at, r.ok, r.failed_step, r.error
        from public.directory_canary_runs r
       where r.directory_id = d.id
       order by r.ran_at desc, r.id desc limit 1
    ) lc on true
    left join lateral (
      select (percentile_cont(0.5) within group (order by x.duration_ms))::int as median_ms,
             count(*)::int as timed
        from (select jr.duration_ms from public.job_results jr
               where jr.directory_id = d.id and jr.reported_at >= v_now - interval '30 days'
               order by jr.reported_at desc limit 500) x
       where x.duration_ms is not null
    ) md on true
   order by d.drifted_at is null, not (d.enabled and d.staff_disabled_at is null), d.name, d.id;
end;
$$;

-- From the latest body (20261210000130): requirements null (not known) stays null; an entry
-- without the key still has none.
create or replace function public.directories_sync(entries jsonb)
returns jsonb
language plpgsql security definer set search_path = ''
as $$
declare
  v_upserted int;
  v_disabled int;
begin
  if jsonb_typeof(entries) is distinct from 'array' then
    raise exception 'entries must be a JSON array' using errcode = 'DB005';
  end if;

  insert into public.directories as d (
    id, name, homepage, submit_url, country, categories, tier, priority, captcha_kind,
    requirements, proxy_required, enabled, mode, recipe, verified_at, synced_at,
    countries, phone_countries, category_map
  )
  select e.id, e.name, e.homepage, e.submit_url, e.country, coalesce(e.categories, '{}'),
         e.tier, coalesce(e.priority, 100), coalesce(e.captcha_kind, 'none'),
         case when x.entry ? 'requirements' then e.requirements else '{}' end,
         coalesce(e.proxy_required, false),
         coalesce(e.enabled, false), e.mode, e.recipe, e.verified_at, now(),
         coalesce(e.countries, case when e.country is null then '{}' else array[e.country] end),
         coalesce(e.phone_countries, '{}'), coalesce(e.category_map, '{}')
  from jsonb_array_elements(entries) as x(entry),
       jsonb_to_record(x.entry) as e(
    id text, name text, homepage text, submit_url text, country text, categories text[],
    tier text, priority int, captcha_kind text, requirements text[], proxy_required boolean,
    enabled boolean, mode text, recipe jsonb, verified_at timestamptz,
    countries text[], phone_countries text[], category_map jsonb
  )
  on conflict (id) do update set
    name = excluded.name, homepage = excluded.homepage, submit_url = excluded.submit_url,
    country = excluded.country, categories = excluded.categories, tier = excluded.tier,
    priority = excluded.priority, captcha_kind = excluded.captcha_kind,
    requirements = excluded.requirements, proxy_required = excluded.proxy_required,
    enabled = excluded.enabled, mode = excluded.mode, recipe = excluded.recipe,
    verified_at = greatest(d.verified_at, excluded.verified_at), synced_at = excluded.synced_at,
    countries = excluded.countries, phone_countries = excluded.phone_countries,
    category_map = excluded.category_map;
  get diagnostics v_upserted = row_count;

  update public.directories
     set enabled = false, synced_at = now()
   where enabled
     and id not in (select e ->> 'id' from jsonb_array_elements(entries) as e);
  get diagnostics v_disabled = row_count;

  return jsonb_build_object('upserted', v_upserted, 'disabled', v_disabled);
end;
$$;
