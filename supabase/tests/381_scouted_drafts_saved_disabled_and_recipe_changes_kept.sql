-- Issue 17: a done scout's draft saved as a disabled catalogue entry (audited, staff only),
-- kept by a later directories_sync that does not list it; and the sync keeping the recipe it
-- replaces (previous_recipe, recipe_changed_at) only when the recipe really changed.
begin;
set search_path = public, extensions;
select plan(15);

insert into directory_scouts (url, requested_by, status, result, finished_at)
values ('https://www.example-dir.com/add?x=1', 'staff:ann@directorybolt.test', 'done',
  '{"captcha": "recaptcha_v2", "draft": {"recipe": {"steps": [{"action": "goto", "url": "{submit_url}"}, {"action": "fill", "selector": "#name", "value": "business_name"}, {"action": "submit", "selector": "#go"}, {"action": "expect", "success": ".confirmation"}]}}}',
  now());
select id as scout_id from directory_scouts where url like 'https://www.example-dir.com%' \gset
insert into directory_scouts (url, requested_by, status, result, finished_at)
values ('https://nothing.example/', 'staff:ann@directorybolt.test', 'done', '{"captcha": "none", "draft": {"recipe": null}}', now());
select id as formless_id from directory_scouts where url = 'https://nothing.example/' \gset
insert into directory_scouts (url, requested_by, status) values ('https://queued.example/', 'staff:x', 'queued');
select id as queued_id from directory_scouts where url = 'https://queued.example/' \gset

select set_config('request.jwt.claims', '{"role":"authenticated","sub":"00000000-0000-0000-0000-00000000000c","email":"one@example.com"}', true) \gset
set local role authenticated;
select throws_ok(format($$ select staff_directory_scout_save(%s, 'example-dir', 'Example', 'starter', 'US') $$, :'scout_id'),
  '42501', NULL, 'a customer cannot save a scout');
reset role;

select set_config('request.jwt.claims', '{"role":"authenticated","sub":"00000000-0000-0000-0000-0000000000aa","email":"ann@directorybolt.test","app_metadata":{"role":"staff"}}', true) \gset
set local role authenticated;
select throws_ok(format($$ select staff_directory_scout_save(%s, 'Bad Id', 'Example', 'starter', 'US') $$, :'scout_id'),
  'DB005', NULL, 'a bad id is refused, naming the field');
select throws_ok(format($$ select staff_directory_scout_save(%s, 'sandbox-plain', 'Example', 'starter', 'US') $$, :'scout_id'),
  'DB005', 'id: sandbox-plain is already a directory', 'an id in use is refused');
select throws_ok(format($$ select staff_directory_scout_save(%s, 'queued-one', 'Q', 'starter', null) $$, :'queued_id'),
  'DB002', NULL, 'a scout not done has no draft to save');
select lives_ok(format($$ select staff_directory_scout_save(%s, 'example-dir', 'Example Directory', 'growth', 'us') $$, :'scout_id'),
  'staff save the draft');
select throws_ok(format($$ select staff_directory_scout_save(%s, 'example-dir-2', 'Again', 'growth', 'US') $$, :'scout_id'),
  'DB005', NULL, 'a scout is saved once');
select lives_ok(format($$ select staff_directory_scout_save(%s, 'formless', 'Formless', 'starter', '') $$, :'formless_id'),
  'a draft without a form is saved for the generic filler');
reset role;

select results_eq($$ select enabled, mode, homepage, submit_url, country, countries, tier, captcha_kind, requirements is null,
                            recipe -> 'steps' -> 1 ->> 'selector'
                       from directories where id = 'example-dir' $$,
  $$ values (false, 'recipe', 'https://www.example-dir.com', 'https://www.example-dir.com/add?x=1', 'US', '{US}'::text[],
             'growth', 'recaptcha_v2', true, '#name') $$,
  'it is a disabled recipe entry built from the scout');
select ok((select notes ~ '^scouted from https://www\.example-dir\.com/add\?x=1 by staff on \d{4}-\d\d-\d\d \(scout \d+\)'
             from directories where id = 'example-dir'), 'its notes say where and when, not who (the audit log does)');
select results_eq($$ select mode, recipe is null, country from directories where id = 'formless' $$,
  $$ values ('auto', true, null::text) $$, 'the formless one is auto, any country');
select results_eq($$ select actor, directory_id, to_status from audit_log where action = 'directory.saved_from_scout' order by id $$,
  $$ values ('staff:ann@directorybolt.test', 'example-dir', 'disabled'), ('staff:ann@directorybolt.test', 'formless', 'disabled') $$,
  'each save is audited with the staff identity');

-- A later sync from a directories.json that does not list it keeps it, disabled.
select directories_sync($$[
  {"id": "dir-a", "name": "A", "homepage": "http://127.0.0.1:9/a", "tier": "starter", "priority": 1, "mode": "recipe", "enabled": true, "verified_at": "2026-12-01T00:00:00Z",
   "recipe": {"steps": [{"action": "goto", "url": "{submit_url}"}, {"action": "fill", "selector": "#n", "value": "business_name"}]}}
]$$::jsonb) \gset
select results_eq($$ select enabled, mode, recipe -> 'steps' -> 1 ->> 'selector' from directories where id = 'example-dir' $$,
  $$ values (false, 'recipe', '#name') $$, 'a later sync that does not list the scouted entry keeps it, disabled, with its recipe');

select results_eq($$ select previous_recipe is null, recipe_changed_at is null from directories where id = 'dir-a' $$,
  $$ values (true, true) $$, 'a first sync has no previous recipe');
select directories_sync($$[
  {"id": "dir-a", "name": "A", "homepage": "http://127.0.0.1:9/a", "tier": "starter", "priority": 1, "mode": "recipe", "enabled": true, "verified_at": "2026-12-01T00:00:00Z",
   "recipe": {"steps": [{"url": "{submit_url}", "action": "goto"}, {"value": "business_name", "selector": "#n", "action": "fill"}]}}
]$$::jsonb) \gset
select results_eq($$ select previous_recipe is null, recipe_changed_at is null from directories where id = 'dir-a' $$,
  $$ values (true, true) $$, 'the same recipe with its keys reordered is no change');
select directories_sync($$[
  {"id": "dir-a", "name": "A", "homepage": "http://127.0.0.1:9/a", "tier": "starter", "priority": 1, "mode": "recipe", "enabled": true, "verified_at": "2026-12-01T00:00:00Z",
   "recipe": {"steps": [{"action": "goto", "url": "{submit_url}"}, {"action": "fill", "selector": "#business", "value": "business_name"}, {"action": "submit", "selector": "#go"}]}}
]$$::jsonb) \gset
select results_eq($$ select previous_recipe -> 'steps' -> 1 ->> 'selector', recipe -> 'steps' -> 1 ->> 'selector', recipe_changed_at is not null
                       from directories where id = 'dir-a' $$,
  $$ values ('#n', '#business', true) $$, 'a changed recipe keeps the one it replaced and when');

select * from finish();
rollback;
