-- Why: a UK phone on a US-only site was retried three times and reported as "the site took
-- too long", and a category select was filled with whatever option matched first. A
-- directory now declares what it accepts, in directories.json, synced here:
-- - countries: the countries whose businesses it lists (empty = any). The older single
--   `country` still says the same for entries that give only it (one accepted country).
-- - phone_countries: the countries whose phone numbers its form takes (empty = any).
-- - category_map: our category slug -> the site's own category option (empty = the filler
--   matches the site's options itself, worker/categories.py).
-- The worker reads them from its assignment and skips a business outside them before any
-- browser starts (country_not_accepted, phone_not_accepted), or fails it with
-- category_unmatched, never guessing.

alter table public.directories
  add column countries text[] not null default '{}',
  add column phone_countries text[] not null default '{}',
  add column category_map jsonb not null default '{}',
  add constraint directories_countries_are_iso_alpha2
    check (array_to_string(countries, ',') ~ '^([A-Z]{2}(,[A-Z]{2})*)?$'),
  add constraint directories_phone_countries_are_iso_alpha2
    check (array_to_string(phone_countries, ',') ~ '^([A-Z]{2}(,[A-Z]{2})*)?$'),
  add constraint directories_category_map_is_an_object
    check (jsonb_typeof(category_map) = 'object');
comment on column public.directories.countries is
  'Countries whose businesses the directory lists (ISO alpha-2); empty = any. Set from directories.json countries, or its single country.';
comment on column public.directories.phone_countries is
  'Countries whose phone numbers the directory''s form accepts; empty = any.';
comment on column public.directories.category_map is
  'Our category slug -> the directory''s own category option; a category absent from a non-empty map is not accepted (category_unmatched).';

-- Existing rows: the single country they declared.
update public.directories set countries = array[country] where country is not null;

-- The customer's job page says which countries a directory takes when it skipped theirs.
grant select (countries, phone_countries) on public.directories to authenticated;

-- From 20261129000600, with the three declarations.
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
         coalesce(e.requirements, '{}'), coalesce(e.proxy_required, false),
         coalesce(e.enabled, false), e.mode, e.recipe, e.verified_at, now(),
         coalesce(e.countries, case when e.country is null then '{}' else array[e.country] end),
         coalesce(e.phone_countries, '{}'), coalesce(e.category_map, '{}')
  from jsonb_to_recordset(entries) as e(
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
    verified_at = excluded.verified_at, synced_at = excluded.synced_at,
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
revoke execute on function public.directories_sync(jsonb) from public, anon, authenticated;
grant execute on function public.directories_sync(jsonb) to service_role;
