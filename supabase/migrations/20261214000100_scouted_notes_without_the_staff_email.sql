-- Why (issue 17, security review): a scouted entry's notes named the staff member
-- (`staff:<email>`), and `dbolt directories export` copies notes into directories.json, the
-- repository. The notes now say "by staff" and the day; who it was stays in the audit log
-- (directory.saved_from_scout). Redefined from 20261213000200, the latest body.

create or replace function public.staff_directory_scout_save(scout_id bigint, directory_id text, name text,
  tier text, country text)
returns jsonb
language plpgsql security definer set search_path = ''
as $$
declare
  v_scout public.directory_scouts;
  v_recipe jsonb;
  v_captcha text;
  v_country constant text := nullif(upper(btrim(coalesce(staff_directory_scout_save.country, ''))), '');
  v_actor constant text := private.staff_actor();
  v_mode text;
begin
  perform private.require_staff();
  perform private.check_argument(coalesce(staff_directory_scout_save.directory_id, '') ~ '^[a-z0-9][a-z0-9_-]{1,62}$',
    'id: 2 to 63 lowercase letters, digits, - or _, starting with a letter or digit');
  perform private.check_argument(btrim(coalesce(staff_directory_scout_save.name, '')) <> '', 'name is required');
  perform private.check_argument(exists (select 1 from public.tiers t where t.name = staff_directory_scout_save.tier),
    'tier: one of starter, growth, professional, enterprise');
  perform private.check_argument(v_country is null or v_country ~ '^[A-Z]{2}$',
    'country: a two-letter ISO code, or empty for any country');
  select s.* into v_scout from public.directory_scouts s
   where s.id = staff_directory_scout_save.scout_id for update;
  if not found then
    raise exception 'scout % not found', staff_directory_scout_save.scout_id using errcode = 'DB003';
  end if;
  if v_scout.status <> 'done' then
    raise exception 'scout % is %, not done: there is no draft to save', v_scout.id, v_scout.status
      using errcode = 'DB002';
  end if;
  perform private.check_argument(v_scout.saved_directory_id is null,
    format('scout %s was already saved as %s', v_scout.id, v_scout.saved_directory_id));
  perform private.check_argument(not exists (select 1 from public.directories d
    where d.id = staff_directory_scout_save.directory_id),
    format('id: %s is already a directory', staff_directory_scout_save.directory_id));
  perform private.check_argument(v_scout.url ~ '^https?://[^/?#]+',
    'the scouted URL is not an http(s) URL');

  v_recipe := v_scout.result -> 'draft' -> 'recipe';
  if jsonb_typeof(v_recipe) <> 'object' then
    v_recipe := null;
  end if;
  -- The draft's recipe when it found a form; else the generic filler.
  v_mode := case when v_recipe is null then 'auto' else 'recipe' end;
  v_captcha := v_scout.result ->> 'captcha';
  if v_captcha is null or v_captcha not in ('none', 'image', 'recaptcha_v2', 'hcaptcha', 'turnstile') then
    v_captcha := 'unknown';
  end if;

  insert into public.directories (id, name, homepage, submit_url, country, countries, tier,
    captcha_kind, requirements, enabled, mode, recipe, notes)
  values (staff_directory_scout_save.directory_id, btrim(staff_directory_scout_save.name),
    substring(v_scout.url from '^(https?://[^/?#]+)'), v_scout.url, v_country,
    case when v_country is null then '{}' else array[v_country] end,
    staff_directory_scout_save.tier, v_captcha,
    -- Not known from one look at a page: staff fill them in directories.json.
    null, false, v_mode, v_recipe,
    -- No staff identity: `dbolt directories export` copies notes into the repository; the
    -- audit row (directory.saved_from_scout) keeps who it was.
    format('scouted from %s by staff on %s (scout %s); disabled until its recipe is verified',
      v_scout.url, to_char(now() at time zone 'UTC', 'YYYY-MM-DD'), v_scout.id));
  update public.directory_scouts s set saved_directory_id = staff_directory_scout_save.directory_id
   where s.id = v_scout.id;
  perform private.audit(v_actor, 'directory.saved_from_scout', null,
    staff_directory_scout_save.directory_id, null, 'disabled',
    jsonb_build_object('scout_id', v_scout.id, 'url', v_scout.url, 'mode', v_mode));
  return jsonb_build_object('directory_id', staff_directory_scout_save.directory_id,
    'mode', v_mode, 'scout_id', v_scout.id);
end;
$$;
revoke execute on function public.staff_directory_scout_save(bigint, text, text, text, text)
  from public, anon;
grant execute on function public.staff_directory_scout_save(bigint, text, text, text, text)
  to authenticated;
