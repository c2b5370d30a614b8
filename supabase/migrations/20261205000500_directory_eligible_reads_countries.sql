-- Why: directories now declare every country they list (directories.countries, 20261205000410;
-- empty = any, and an entry giving only the older single `country` has it as its one
-- element). The one eligibility rule (private.directory_eligible, 20261205000100) still read
-- the single `country`, so a directory for the US and Canada was never given to a Canadian
-- business, and a job was built with directories the worker would then skip. It reads the
-- list now. Unchanged otherwise.

create or replace function private.directory_eligible(d public.directories, package public.tiers, business jsonb)
returns boolean
language sql stable set search_path = ''
as $$
  select d.enabled
     and (select t.rank from public.tiers t where t.name = d.tier) <= package.rank
     and (business is null or cardinality(d.countries) = 0
          or (business ->> 'country') = any (d.countries))
     and (business is null or cardinality(d.categories) = 0
          or (business ->> 'category') = any (d.categories))
$$;
