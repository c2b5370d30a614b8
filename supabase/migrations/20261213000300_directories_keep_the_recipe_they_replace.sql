-- Why (issue 17, item 5): recipes are reviewed like code, and a recipe's change shows its
-- diff of steps on the staff page (/staff/directories/<id>). directories.json holds only the
-- current recipe, so the sync keeps the one it replaces: previous_recipe and
-- recipe_changed_at, set only when the synced recipe differs (jsonb equality, so reordered
-- keys are no change). staff_directory_detail gives the detail page the directory with both
-- recipes and its latest canary runs, staff only.

alter table public.directories
  add column previous_recipe jsonb,
  add column recipe_changed_at timestamptz;
comment on column public.directories.previous_recipe is
  'The recipe the last recipe-changing directories_sync replaced (null: never changed since first synced).';
comment on column public.directories.recipe_changed_at is
  'When directories_sync last changed the recipe.';

-- From the latest body (20261211000100); only previous_recipe and recipe_changed_at are new.
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
    -- The recipe it replaces, for the staff page's diff of steps (the new part).
    previous_recipe = case when d.recipe is distinct from excluded.recipe then d.recipe
                           else d.previous_recipe end,
    recipe_changed_at = case when d.recipe is distinct from excluded.recipe then excluded.synced_at
                             else d.recipe_changed_at end,
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

create function public.staff_directory_detail(directory_id text, canary_runs int default 10)
returns jsonb
language plpgsql stable security definer set search_path = ''
as $$
declare
  v_dir jsonb;
  v_runs jsonb;
begin
  perform private.require_staff();
  -- The baseline signature is large and shown elsewhere by digest: left out.
  select to_jsonb(d) - 'signature' into v_dir from public.directories d
   where d.id = staff_directory_detail.directory_id;
  if v_dir is null then
    raise exception 'directory % not found', staff_directory_detail.directory_id using errcode = 'DB003';
  end if;
  select coalesce(jsonb_agg(to_jsonb(r) - 'signature' order by r.ran_at desc, r.id desc), '[]')
    into v_runs
    from (select * from public.directory_canary_runs c
           where c.directory_id = staff_directory_detail.directory_id
           order by c.ran_at desc, c.id desc
           limit greatest(1, least(coalesce(staff_directory_detail.canary_runs, 10), 100))) r;
  return jsonb_build_object('directory', v_dir, 'canary_runs', v_runs);
end;
$$;
revoke execute on function public.staff_directory_detail(text, int) from public, anon;
grant execute on function public.staff_directory_detail(text, int) to authenticated;
