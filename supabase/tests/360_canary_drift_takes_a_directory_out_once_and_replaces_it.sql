-- The canary (issue 17): the first signature becomes the baseline; a changed digest or a
-- failed step marks the directory drifted, raises the recipe_drift alert once, takes it out of
-- new jobs and replaces it, by the package-count rules, in every open job that holds it not yet
-- started (an attempt in progress is left to finish); the baseline's digest seen again does not
-- bring it back; a directories.json sync keeps the drift and the baseline; only the service
-- role may record a run.
begin;
set search_path = public, extensions;
select plan(47);

select directories_sync($$[
  {"id": "dir-a", "name": "A", "homepage": "http://127.0.0.1:9/a", "tier": "starter", "priority": 1, "mode": "auto", "enabled": true},
  {"id": "dir-b", "name": "B", "homepage": "http://127.0.0.1:9/b", "tier": "starter", "priority": 2, "mode": "auto", "enabled": true},
  {"id": "dir-c", "name": "C", "homepage": "http://127.0.0.1:9/c", "tier": "starter", "priority": 3, "mode": "auto", "enabled": true},
  {"id": "dir-d", "name": "D", "homepage": "http://127.0.0.1:9/d", "tier": "starter", "priority": 4, "mode": "auto", "enabled": true}
]$$::jsonb) \gset
update directories set enabled = false where id not in ('dir-a', 'dir-b', 'dir-c', 'dir-d');
update tiers set directory_limit = 2 where name = 'starter';
\set sig_a '{"forms": [{"fields": ["name", "email"]}]}'
\set dig_a 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'
\set sig_b '{"forms": [{"fields": ["name", "email", "phone"]}]}'
\set dig_b 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb'

-- Two open jobs hold dir-b: the first (a worker runs it) has it queued, the second has it in progress.
select id as job_1 from jobs_enqueue(dev.create_paid_order('one@example.com', 'starter')) \gset
update jobs set created_at = now() - interval '10 minutes' where id = :'job_1';
select id as claimed_1, lease_token as token_1 from jobs_next('worker-1', 300) \gset
select jobs_start_directory(:'job_1', :'token_1', 'dir-a') \gset
select id as job_2 from jobs_enqueue(dev.create_paid_order('two@example.com', 'starter')) \gset
select id as claimed_2, lease_token as token_2 from jobs_next('worker-2', 300) \gset
select jobs_start_directory(:'job_2', :'token_2', 'dir-b') \gset
select results_eq(format($$ select j.status::text, d.directory_id, d.status::text from job_directories d join jobs j on j.id = d.job_id
                            where j.id in (%L, %L) order by j.created_at, d.position $$, :'job_1', :'job_2'),
  $$ values ('in_progress', 'dir-a', 'in_progress'), ('in_progress', 'dir-b', 'queued'),
            ('in_progress', 'dir-a', 'queued'), ('in_progress', 'dir-b', 'in_progress') $$,
  'set-up: two running jobs, dir-b queued in the first and in progress in the second');

-- The baseline -----------------------------------------------------------------------------
select directories_record_canary('dir-b', :'sig_a'::jsonb, :'dig_a') as run \gset
select is(:'run'::jsonb - 'run_id',
  '{"ok": true, "baseline_stored": true, "drifted": false, "newly_drifted": false, "alert_raised": false, "jobs_skipped": 0}'::jsonb,
  'the first run of a directory without a baseline is ok and stores it');
select results_eq($$ select signature, signature_digest, signed_at is not null, drifted_at from directories where id = 'dir-b' $$,
  format($$ values (%L::jsonb, %L, true, null::timestamptz) $$, :'sig_a', :'dig_a'),
  'the directory keeps the signature, its digest and when it was taken');
select directories_record_canary('dir-b', :'sig_a'::jsonb, :'dig_a') as run \gset
select is((:'run'::jsonb ->> 'ok')::boolean and not (:'run'::jsonb ->> 'baseline_stored')::boolean, true,
  'the same digest again is ok and leaves the baseline');
select is((select count(*)::int from directory_canary_runs where directory_id = 'dir-b'), 2, 'each run is stored');
select is_empty($$ select 1 from alerts where kind = 'recipe_drift' $$, 'no alert while the signature holds');

-- Drift ------------------------------------------------------------------------------------
select directories_record_canary('dir-b', :'sig_b'::jsonb, :'dig_b') as run \gset
select is(:'run'::jsonb - 'run_id',
  '{"ok": false, "baseline_stored": false, "drifted": true, "newly_drifted": true, "alert_raised": true, "jobs_skipped": 1}'::jsonb,
  'a changed digest is drift: raised, and one job''s queued dir-b skipped');
select ok((select drifted_at is not null and enabled from directories where id = 'dir-b'),
  'the directory is drifted and enabled stays as staff left it');
select is((select signature_digest from directories where id = 'dir-b'), :'dig_a', 'the baseline is not replaced by the drifted signature');
select results_eq($$ select ok, baseline_digest, digest, raised_drift from directory_canary_runs where directory_id = 'dir-b' order by id desc limit 1 $$,
  format($$ values (false, %L, %L, true) $$, :'dig_a', :'dig_b'),
  'the run records what it was compared with and that it took the directory out');
select results_eq($$ select kind, message, details from alerts where kind = 'recipe_drift' and cleared_at is null $$,
  $$ values ('recipe_drift', 'Recipe drift, out of new jobs until staff re-verify: B', '{"directories": ["dir-b"]}'::jsonb) $$,
  'one recipe_drift alert names the directory');
select results_eq(format($$ select directory_id, status::text, last_error_code, replaced_by from job_directories where job_id = %L order by position $$, :'job_1'),
  $$ values ('dir-a', 'in_progress', null, null), ('dir-b', 'skipped', 'recipe_drift', 'dir-c'), ('dir-c', 'queued', null, null) $$,
  'the running job''s queued dir-b is skipped with recipe_drift and replaced by the next eligible directory');
select results_eq(format($$ select directory_id, status::text, replaced_by from job_directories where job_id = %L order by position $$, :'job_2'),
  $$ values ('dir-a', 'queued', null), ('dir-b', 'in_progress', null) $$,
  'an attempt already in progress at dir-b is left to finish');
select results_eq(format($$ select actor, action, directory_id, from_status, to_status from audit_log
                            where (job_id = %L or (job_id is null and directory_id = 'dir-b'))
                              and action in ('directory.drifted', 'job_directory.skipped', 'job_directory.replaced', 'directory.signature_stored')
                            order by id $$, :'job_1'),
  $$ values ('canary', 'directory.signature_stored', 'dir-b', null, null),
            ('canary', 'directory.drifted', 'dir-b', null, 'drifted'),
            ('canary', 'job_directory.skipped', 'dir-b', 'queued', 'skipped'),
            ('system', 'job_directory.replaced', 'dir-b', 'skipped', null) $$,
  'the baseline, the drift, the skip and the replacement are audited');
select is((select count(*)::int from audit_log where action = 'alert.raised' and to_status = 'recipe_drift'), 1, 'the alert raise is audited once');

-- Raised once --------------------------------------------------------------------------------
select directories_record_canary('dir-b', :'sig_b'::jsonb, :'dig_b') as run \gset
select is(:'run'::jsonb - 'run_id',
  '{"ok": false, "baseline_stored": false, "drifted": true, "newly_drifted": false, "alert_raised": false, "jobs_skipped": 0}'::jsonb,
  'the drifted digest again changes nothing more');
select directories_record_canary('dir-b', null, null, 'fill', 'selector #name not found') as run \gset
select is((:'run'::jsonb ->> 'alert_raised')::boolean, false, 'nor does a failed step while drifted');
select is((select count(*)::int from alerts where kind = 'recipe_drift'), 1, 'still one recipe_drift alert, raised once');
select is((select count(*)::int from audit_log where action = 'directory.drifted' and directory_id = 'dir-b'), 1, 'the drift is audited once');
select is((select count(*)::int from audit_log where action = 'alert.raised' and to_status = 'recipe_drift'), 1, 'and the alert raised once');
select results_eq($$ select ok, failed_step, error, digest from directory_canary_runs where directory_id = 'dir-b' order by id desc limit 1 $$,
  $$ values (false, 'fill', 'selector #name not found', null::text) $$, 'a failed step is stored with its error and no signature');

-- The baseline's digest again does not bring it back -------------------------------------------
select directories_record_canary('dir-b', :'sig_a'::jsonb, :'dig_a') as run \gset
select is((:'run'::jsonb ->> 'ok')::boolean, true, 'a run matching the baseline is ok');
select is((:'run'::jsonb ->> 'drifted')::boolean, true, 'but the directory stays drifted');
select ok((select drifted_at is not null from directories where id = 'dir-b'), 'until staff re-verify it');
select ok(exists (select 1 from alerts where kind = 'recipe_drift' and cleared_at is null), 'and the alert stays open');

-- Out of new jobs ----------------------------------------------------------------------------
select id as job_3 from jobs_enqueue(dev.create_paid_order('three@example.com', 'starter')) \gset
select results_eq(format($$ select directory_id from job_directories where job_id = %L order by position $$, :'job_3'),
  $$ values ('dir-a'), ('dir-c') $$, 'a new job passes over the drifted directory');
update tiers set directory_limit = 10 where name = 'starter';
select is((select directories_today from tiers_on_offer() where name = 'starter'), 3,
  'the pricing page counts the enabled directories that are not drifted');
-- Nor is it a replacement: a job holding a, c, d loses d and finds no one left (b is drifted).
select jobs_report_attempt(:'job_2', :'token_2',
  '{"directory_id": "dir-a", "attempt": 1, "outcome": "permanent_error", "error_code": "form_gone"}') \gset
select is((select replaced_by from job_directories where job_id = :'job_2' and directory_id = 'dir-a'), 'dir-c',
  'set-up: the second job replaced dir-a with dir-c');
select jobs_report_attempt(:'job_2', :'token_2',
  '{"directory_id": "dir-b", "attempt": 1, "outcome": "permanent_error", "error_code": "already_listed"}') \gset
select is((select replaced_by from job_directories where job_id = :'job_2' and directory_id = 'dir-b'), 'dir-d',
  'a replacement skips the drifted directory too (d, not b)');

-- A second directory: named in the same alert, which is not raised again --------------------------
select directories_record_canary('dir-d', null, null, 'open', 'net::ERR_CONNECTION_REFUSED') as run \gset
select is(:'run'::jsonb - 'run_id',
  '{"ok": false, "baseline_stored": false, "drifted": true, "newly_drifted": true, "alert_raised": false, "jobs_skipped": 1}'::jsonb,
  'a failed step on a directory without a baseline is drift, and stores no baseline');
select is((select signature_digest from directories where id = 'dir-d'), null, 'dir-d still has no baseline');
select results_eq($$ select count(*)::int, max(details::text) from alerts where kind = 'recipe_drift' and cleared_at is null $$,
  $$ values (1, '{"directories": ["dir-b", "dir-d"]}') $$, 'the open alert now names both directories');
select is((select count(*)::int from audit_log where action = 'alert.raised' and to_status = 'recipe_drift'), 1,
  'the alert was not raised a second time');
select results_eq(format($$ select status::text, last_error_code from job_directories where job_id = %L and directory_id = 'dir-d' $$, :'job_2'),
  $$ values ('skipped', 'recipe_drift') $$, 'the queued dir-d of the running job is taken out (no replacement left)');
select results_eq(format($$ select details ->> 'reason' from audit_log where job_id = %L and directory_id = 'dir-d' and action = 'job_directory.not_replaced' $$, :'job_2'),
  $$ values ('no eligible directory left') $$, 'and that no directory was left to replace it is audited');

-- A sync from directories.json keeps the drift and the baseline --------------------------------------
update directories set verified_at = now() where id = 'dir-a';
select directories_sync($$[
  {"id": "dir-a", "name": "A", "homepage": "http://127.0.0.1:9/a", "tier": "starter", "priority": 1, "mode": "auto", "enabled": true, "verified_at": "2026-01-01T00:00:00Z"},
  {"id": "dir-b", "name": "B renamed", "homepage": "http://127.0.0.1:9/b", "tier": "starter", "priority": 2, "mode": "auto", "enabled": true},
  {"id": "dir-c", "name": "C", "homepage": "http://127.0.0.1:9/c", "tier": "starter", "priority": 3, "mode": "auto", "enabled": true},
  {"id": "dir-d", "name": "D", "homepage": "http://127.0.0.1:9/d", "tier": "starter", "priority": 4, "mode": "auto", "enabled": true},
  {"id": "dir-e", "name": "E", "homepage": "http://127.0.0.1:9/e", "tier": "starter", "priority": 5, "mode": "auto", "enabled": true}
]$$::jsonb) \gset
select results_eq($$ select name, drifted_at is not null, signature_digest, signature from directories where id = 'dir-b' $$,
  format($$ values ('B renamed', true, %L, %L::jsonb) $$, :'dig_a', :'sig_a'),
  'a sync updates the entry but keeps its drift and its baseline signature');
select ok((select verified_at > '2026-06-01' from directories where id = 'dir-a'),
  'and keeps a later verification than the file''s');

-- A waiting job (everything left parked) holding a drifted directory queued is woken --------------
update tiers set directory_limit = 1 where name = 'starter';
select id as job_5 from jobs_enqueue(dev.create_paid_order('five@example.com', 'starter')) \gset
insert into job_directories (job_id, directory_id, position) values (:'job_5', 'dir-c', 2);
update jobs set status = 'waiting', wake_at = now() + interval '1 day' where id = :'job_5';
select directories_record_canary('dir-c', null, null, 'submit', 'the button is gone') \gset
select results_eq(format($$ select j.status::text, d.status::text, d.replaced_by from jobs j
                            join job_directories d on d.job_id = j.id and d.directory_id = 'dir-c' where j.id = %L $$, :'job_5'),
  $$ values ('pending', 'skipped', 'dir-e') $$,
  'its drifted directory is replaced and the job woken, so a worker takes the replacement now');
select is((select count(*)::int from audit_log where job_id = :'job_5' and action = 'job.woken'), 1, 'the wake is audited');

-- Refusals -----------------------------------------------------------------------------------------
select throws_ok($$ select directories_record_canary('dir-a', '{}'::jsonb, 'ABC') $$, 'DB005',
  'digest must be the sha256 hex (64 lower-case hex digits) of the signature''s canonical JSON', 'a digest that is not sha256 hex is refused');
select throws_ok($$ select directories_record_canary('dir-a', null, null) $$, 'DB005',
  'a run without a signature must name its failed_step', 'a run without a signature or a failed step is refused');
select throws_ok($$ select directories_record_canary('dir-a', '[1]'::jsonb, repeat('a', 64)) $$, 'DB005',
  'signature must be a JSON object', 'a signature that is not an object is refused');
select throws_ok($$ select directories_record_canary('no-such-dir', '{}'::jsonb, repeat('a', 64)) $$, 'DB003',
  'directory no-such-dir not found', 'an unknown directory is refused by name');

-- Who may record a run ---------------------------------------------------------------------------
set local role service_role;
select is((directories_record_canary('dir-a', '{}'::jsonb, repeat('c', 64)) ->> 'ok')::boolean, true,
  'the service role (the canary) records a run');
reset role;
select set_config('request.jwt.claims', '{"role":"authenticated","sub":"00000000-0000-0000-0000-0000000000aa","email":"ann@directorybolt.test","app_metadata":{"role":"staff"}}', true) \gset
set local role authenticated;
select throws_ok($$ select directories_record_canary('dir-a', '{}'::jsonb, repeat('d', 64)) $$, '42501', NULL,
  'a signed-in user, staff included, cannot record a canary run');
select throws_ok($$ select * from directory_canary_runs $$, '42501', NULL, 'nor read the runs table itself');
reset role;
set local role anon;
select throws_ok($$ select directories_record_canary('dir-a', '{}'::jsonb, repeat('d', 64)) $$, '42501', NULL,
  'anon cannot record a canary run');
reset role;

select * from finish();
rollback;
