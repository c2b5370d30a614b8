-- What a directory accepts (20261205000410): directories_sync stores its countries, phone
-- countries and category map; an entry with only the older `country` accepts that one
-- country; malformed declarations are refused; customers may read the declarations their
-- job page words come from, still not the recipe.
begin;
set search_path = public, extensions;
select plan(8);

select is(directories_sync('[
  {"id": "t-us-only", "name": "US only", "homepage": "https://us.example", "tier": "starter",
   "mode": "auto", "countries": ["US", "CA"], "phone_countries": ["US"],
   "category_map": {"plumber": "Plumbing & Heating"}},
  {"id": "t-old-gb", "name": "Old GB", "homepage": "https://gb.example", "tier": "starter",
   "mode": "auto", "country": "GB"},
  {"id": "t-anywhere", "name": "Anywhere", "homepage": "https://any.example", "tier": "starter",
   "mode": "auto"}
]'::jsonb) ->> 'upserted', '3', 'three entries synced');
select is((select countries from directories where id = 't-us-only'), array['US', 'CA'],
  'the countries it lists');
select is((select phone_countries from directories where id = 't-us-only'), array['US'],
  'the phone countries it takes');
select is((select category_map from directories where id = 't-us-only'),
  '{"plumber": "Plumbing & Heating"}'::jsonb, 'its category map');
select is((select countries from directories where id = 't-old-gb'), array['GB'],
  'an entry with only country accepts that country');
select is((select countries from directories where id = 't-anywhere'), '{}'::text[],
  'no declaration: any country');
select throws_ok($$ select directories_sync('[{"id": "t-bad", "name": "Bad", "homepage": "https://b.example",
  "tier": "starter", "mode": "auto", "countries": ["usa"]}]'::jsonb) $$,
  '23514', null, 'a country that is not ISO alpha-2 is refused');

select ok(has_column_privilege('authenticated', 'public.directories', 'countries', 'select')
  and has_column_privilege('authenticated', 'public.directories', 'phone_countries', 'select')
  and not has_column_privilege('authenticated', 'public.directories', 'recipe', 'select'),
  'customers read the declarations, not the recipe');

select * from finish();
rollback;
