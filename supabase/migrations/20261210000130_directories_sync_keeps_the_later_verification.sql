-- Why: staff re-verify a drifted directory in the database (staff_directory_reverify,
-- 20261210000200), which sets verified_at; the next `dbolt directories sync` copied
-- directories.json's older verified_at over it. The sync now keeps the later of the two.
-- The canary's columns (signature, signature_digest, signed_at, drifted_at) were never in the
-- sync's list, so a sync keeps a baseline and a drift as they are. From the latest body
-- (20261205000410); only verified_at changes.

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
revoke execute on function public.directories_sync(jsonb) from public, anon, authenticated;
grant execute on function public.directories_sync(jsonb) to service_role;
