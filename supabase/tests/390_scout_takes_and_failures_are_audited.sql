-- Scouts (issue 17, security review): every take of a scout by a worker is audited
-- (directory.scout_taken, with the attempt number and the status it was taken from, so a
-- re-take after a worker stopped shows), and so is the failure after the third stop
-- (directory.scout_failed, with the attempt count). A scout nobody takes leaves no row.
-- Notes of a saved scout name no staff member: `dbolt directories export` copies them into
-- the repository; the audit row keeps who it was.
begin;
set search_path = public, extensions;
select plan(7);

insert into directory_scouts (url, requested_by) values ('https://first.example/add', 'staff:x');
insert into directory_scouts (url, requested_by, status, lease_token, lease_expires_at, attempts, worker_id)
values ('https://stalled.example/', 'staff:x', 'running', gen_random_uuid(), now() - interval '1 minute', 1, 'w-gone'),
       ('https://crash.example/', 'staff:x', 'running', gen_random_uuid(), now() - interval '1 minute', 3, 'w-dead');
update directory_scouts set requested_at = now() - interval '1 hour' where url = 'https://stalled.example/';

set local role service_role;
select is((select count(*)::int from directory_scouts_next('worker-1', 60)), 1, 'the stalled scout is taken again');
select is((select count(*)::int from directory_scouts_next('worker-2', 60)), 1, 'then the queued one');
select is_empty($$ select * from directory_scouts_next('worker-3', 60) $$, 'then nothing');
reset role;

select results_eq($$ select actor, from_status, to_status, details ->> 'url', (details ->> 'attempts')::int
                      from audit_log where action = 'directory.scout_taken' order by id $$,
  $$ values ('worker:worker-1', 'running', 'running', 'https://stalled.example/', 2),
            ('worker:worker-2', 'queued', 'running', 'https://first.example/add', 1) $$,
  'each take is audited: the re-take with its second attempt, the first take with its first');
select results_eq($$ select actor, from_status, to_status, details ->> 'url', (details ->> 'attempts')::int, details ->> 'reason'
                      from audit_log where action = 'directory.scout_failed' order by id $$,
  $$ values ('worker:w-dead', 'running', 'failed', 'https://crash.example/', 3,
             'the worker running it stopped 3 times without finishing') $$,
  'the third-stop failure is audited once, with its attempt count, by the worker that stopped');

-- A saved scout's notes: where and when, "by staff", never the email.
insert into directory_scouts (url, requested_by, status, result, finished_at)
values ('https://saved.example/add', 'staff:ann@directorybolt.test', 'done', '{"captcha": "none", "draft": {"recipe": null}}', now());
select id as saved_id from directory_scouts where url = 'https://saved.example/add' \gset
select set_config('request.jwt.claims', '{"role":"authenticated","sub":"00000000-0000-0000-0000-0000000000aa","email":"ann@directorybolt.test","app_metadata":{"role":"staff"}}', true) \gset
set local role authenticated;
select lives_ok(format($$ select staff_directory_scout_save(%s, 'saved-dir', 'Saved', 'starter', 'US') $$, :'saved_id'),
  'staff save the scout');
reset role;
select ok((select notes ~ '^scouted from https://saved\.example/add by staff on \d{4}-\d\d-\d\d \(scout \d+\); disabled until its recipe is verified$'
                  and notes !~ 'ann|@'
             from directories where id = 'saved-dir'), 'its notes say where and when, by staff, without the email');

select * from finish();
rollback;
