-- 20261211000100: the catalogue's "not known yet" reaches the table as such (captcha_kind
-- 'unknown', requirements null), never as 'none' / no requirements; an enabled directory
-- must have its facts known; staff's switch is its own column, which a sync leaves alone.
begin;
set search_path = public, extensions;
select plan(9);

select directories_sync($$[
  {"id": "cat-unknown", "name": "Unscouted", "homepage": "https://unscouted.example", "tier": "starter", "priority": 1, "mode": "auto", "enabled": false, "captcha_kind": "unknown", "requirements": null},
  {"id": "cat-postcard", "name": "Postcard", "homepage": "https://postcard.example", "tier": "starter", "priority": 2, "mode": "auto", "enabled": false, "captcha_kind": "image", "requirements": ["account", "postcard_verification"]},
  {"id": "dir-on", "name": "On", "homepage": "http://127.0.0.1:9/on", "tier": "starter", "priority": 3, "mode": "auto", "enabled": true},
  {"id": "dir-off", "name": "Off", "homepage": "http://127.0.0.1:9/off", "tier": "starter", "priority": 4, "mode": "auto", "enabled": true}
]$$::jsonb) \gset

select results_eq(
  $$ select id, captcha_kind, requirements from directories
      where id in ('cat-unknown', 'cat-postcard', 'dir-on') order by id $$,
  $$ values ('cat-postcard', 'image', array['account', 'postcard_verification']),
            ('cat-unknown', 'unknown', null::text[]),
            ('dir-on', 'none', '{}'::text[]) $$,
  'unknown facts stay unknown; named ones are kept; an entry without them has none');
select throws_ok(
  $$ update directories set enabled = true where id = 'cat-unknown' $$,
  '23514', NULL, 'a directory whose facts are not known cannot be enabled');

-- Staff take dir-off out of new jobs.
select set_config('request.jwt.claims', '{"role":"authenticated","sub":"00000000-0000-0000-0000-0000000000aa","email":"ann@directorybolt.test","app_metadata":{"role":"staff"}}', true) \gset
set local role authenticated;
select is(staff_directory_set_enabled('dir-off', false) ->> 'changed', 'true', 'staff switch a directory off');
select throws_ok($$ select staff_directory_set_enabled('cat-unknown', true) $$, 'DB005',
  'directory cat-unknown is off in the catalogue (directories.json): it is enabled there, once its recipe is verified',
  'staff cannot switch on what the catalogue keeps off');
select is((select enabled from staff_directory_health() where directory_id = 'dir-off'), false,
  'the health page shows it off');
reset role;

-- The morning's deploy syncs the catalogue again, dir-off still enabled there.
select directories_sync($$[
  {"id": "dir-on", "name": "On", "homepage": "http://127.0.0.1:9/on", "tier": "starter", "priority": 3, "mode": "auto", "enabled": true},
  {"id": "dir-off", "name": "Off", "homepage": "http://127.0.0.1:9/off", "tier": "starter", "priority": 4, "mode": "auto", "enabled": true}
]$$::jsonb) \gset
select isnt((select staff_disabled_at from directories where id = 'dir-off'), null,
  'a sync leaves staff''s switch as it was');
select j.id as job_id from jobs_enqueue(dev.create_paid_order('switch@example.com', 'starter')) j \gset
select results_eq(
  format($$ select directory_id from job_directories where job_id = %L order by 1 $$, :'job_id'),
  $$ values ('dir-on') $$,
  'a new job gets only the directories staff have not switched off');
select is((select count(*)::int from audit_log where action = 'directory.disabled' and directory_id = 'dir-off'), 1,
  'the switch is audited');

set local role authenticated;
select staff_directory_set_enabled('dir-off', true) \gset
reset role;
select is((select staff_disabled_at from directories where id = 'dir-off'), null,
  'staff switch it back on');

select * from finish();
rollback;
