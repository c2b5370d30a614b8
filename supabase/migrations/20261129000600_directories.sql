-- Why: the master directory list. directories.json is the source of truth; this table is
-- its synced copy so jobs can reference directories and keep their history when an entry
-- is later disabled.

create table public.directories (
  id text primary key check (id ~ '^[a-z0-9][a-z0-9_-]{1,62}$'),
  name text not null check (btrim(name) <> ''),
  homepage text not null check (homepage ~ '^https?://'),
  submit_url text check (submit_url ~ '^https?://'),
  country text check (country ~ '^[A-Z]{2}$'),
  categories text[] not null default '{}',
  tier text not null references public.tiers (name),
  priority int not null default 100,
  captcha_kind text not null default 'none'
    check (captcha_kind in ('none', 'image', 'recaptcha_v2', 'hcaptcha', 'turnstile')),
  requirements text[] not null default '{}'
    check (requirements <@ array['account', 'email_verification', 'phone_verification']),
  proxy_required boolean not null default false,
  enabled boolean not null default false,
  mode text not null check (mode in ('recipe', 'auto')),
  recipe jsonb,
  verified_at timestamptz,
  synced_at timestamptz not null default now(),
  constraint directories_recipe_mode_has_recipe check (mode <> 'recipe' or recipe is not null)
);
comment on table public.directories is
  'Synced copy of directories.json (see directories_sync). country null = accepts any country; categories empty = accepts any category.';
create index directories_enabled_order_idx on public.directories (tier, priority, id) where enabled;

-- Upserts every entry and disables the ones no longer listed (rows stay: jobs refer to them).
-- One transaction, so a bad file changes nothing.
create function public.directories_sync(entries jsonb)
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
    requirements, proxy_required, enabled, mode, recipe, verified_at, synced_at
  )
  select e.id, e.name, e.homepage, e.submit_url, e.country, coalesce(e.categories, '{}'),
         e.tier, coalesce(e.priority, 100), coalesce(e.captcha_kind, 'none'),
         coalesce(e.requirements, '{}'), coalesce(e.proxy_required, false),
         coalesce(e.enabled, false), e.mode, e.recipe, e.verified_at, now()
  from jsonb_to_recordset(entries) as e(
    id text, name text, homepage text, submit_url text, country text, categories text[],
    tier text, priority int, captcha_kind text, requirements text[], proxy_required boolean,
    enabled boolean, mode text, recipe jsonb, verified_at timestamptz
  )
  on conflict (id) do update set
    name = excluded.name, homepage = excluded.homepage, submit_url = excluded.submit_url,
    country = excluded.country, categories = excluded.categories, tier = excluded.tier,
    priority = excluded.priority, captcha_kind = excluded.captcha_kind,
    requirements = excluded.requirements, proxy_required = excluded.proxy_required,
    enabled = excluded.enabled, mode = excluded.mode, recipe = excluded.recipe,
    verified_at = excluded.verified_at, synced_at = excluded.synced_at;
  get diagnostics v_upserted = row_count;

  update public.directories
     set enabled = false, synced_at = now()
   where enabled
     and id not in (select e ->> 'id' from jsonb_array_elements(entries) as e);
  get diagnostics v_disabled = row_count;

  return jsonb_build_object('upserted', v_upserted, 'disabled', v_disabled);
end;
$$;
revoke execute on function public.directories_sync(jsonb) from public;
grant execute on function public.directories_sync(jsonb) to service_role;

alter table public.directories enable row level security;
grant select on public.directories to authenticated;

create policy "signed-in users can read the directory list"
  on public.directories for select to authenticated
  using (true);
