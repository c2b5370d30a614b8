-- The customer's account on a directory (directory_accounts_open, 20261206000400): opened
-- only by the worker holding the job's lease, on a directory of that job that is in
-- progress; reused (created = false, the same sealed password) on a resend and on the
-- customer's next job; another customer gets their own. Audited without the secret.
begin;
set search_path = public, extensions;
select plan(19);

select directories_sync($$[
  {"id": "dir-a", "name": "A", "homepage": "https://a.example/", "tier": "starter", "priority": 1, "mode": "auto", "enabled": true},
  {"id": "dir-b", "name": "B", "homepage": "https://b.example/", "tier": "starter", "priority": 2, "mode": "auto", "enabled": true}
]$$::jsonb) \gset
select decode(repeat('ab', 40), 'hex') as sealed_1, decode(repeat('cd', 40), 'hex') as sealed_2 \gset

select id as job from jobs_enqueue(dev.create_paid_order('alice@example.com', 'starter')) \gset
select lease_token as token from jobs_next('worker-1', 300) \gset
select jobs_start_directory(:'job', :'token', 'dir-a') \gset

-- Refusals ----------------------------------------------------------------------------------
select throws_ok(format($$ select * from directory_accounts_open(%L, gen_random_uuid(), 'dir-a',
    'alice-1@mail.example', 'https://a.example/', 'k1', %L) $$, :'job', :'sealed_1'),
  'DB001', NULL, 'a stale lease token is refused (DB001) and opens nothing');
select throws_ok(format($$ select * from directory_accounts_open(%L, %L, 'dir-b',
    'alice-1@mail.example', 'https://b.example/', 'k1', %L) $$, :'job', :'token', :'sealed_1'),
  'DB002', format('directory dir-b of job %s is queued, not in progress', :'job'),
  'a directory not being worked on is refused (DB002)');
select throws_ok(format($$ select * from directory_accounts_open(%L, %L, 'dir-z',
    'alice-1@mail.example', 'https://z.example/', 'k1', %L) $$, :'job', :'token', :'sealed_1'),
  'DB003', format('directory dir-z is not part of job %s', :'job'),
  'a directory outside the job is refused (DB003)');
select throws_ok(format($$ select * from directory_accounts_open(%L, %L, 'dir-a',
    'alice-1@mail.example', 'javascript:alert(1)', 'k1', %L) $$, :'job', :'token', :'sealed_1'),
  'DB005', 'site_url must be an http(s) URL', 'a site URL that is not http(s) is refused, naming the field');
select throws_ok(format($$ select * from directory_accounts_open(%L, %L, 'dir-a',
    ' ', 'https://a.example/', 'k1', %L) $$, :'job', :'token', :'sealed_1'),
  'DB005', 'login must be a non-empty address', 'an empty login is refused, naming the field');
select throws_ok(format($$ select * from directory_accounts_open(%L, %L, 'dir-a',
    'alice-1@mail.example', 'https://a.example/', 'k1', '\x00'::bytea) $$, :'job', :'token'),
  'DB005', 'password_sealed must be a sealed value', 'something that cannot be a sealed value is refused');
select is((select count(*)::int from directory_accounts), 0, 'nothing was stored by the refused calls');

-- Opened, then reused -----------------------------------------------------------------------
select * from directory_accounts_open(:'job', :'token', 'dir-a', 'alice-1@mail.example',
  'https://a.example/', 'k1', :'sealed_1') \gset first_
select ok(:'first_created'::boolean, 'the first call opens the account (created)');
select results_eq(format($$ select login, site_url, key_id, password_sealed, opened_by_job, customer_id
    from directory_accounts where id = %L $$, :'first_account_id'),
  format($$ select 'alice-1@mail.example'::text, 'https://a.example/'::text, 'k1'::text, %L::bytea, %L::uuid,
    (select id from customers where email = 'alice@example.com') $$, :'sealed_1', :'job'),
  'it stores the login, the site, the key id and the sealed password against the customer and the job');

select * from directory_accounts_open(:'job', :'token', 'dir-a', 'alice-1@mail.example',
  'https://a.example/', 'k2', :'sealed_2') \gset again_
select ok(not :'again_created'::boolean, 'asked again (a resend), the account is not opened twice');
select is(:'again_account_id'::uuid, :'first_account_id'::uuid, 'the same account is returned');
select is(:'again_sealed_password'::bytea, :'sealed_1'::bytea, 'with its stored password, not the new one');

select results_eq($$ select actor, action, directory_id, details from audit_log
                      where action = 'directory_account.opened' order by id $$,
  format($$ values ('worker:worker-1'::text, 'directory_account.opened'::text, 'dir-a'::text,
                    jsonb_build_object('account_id', %L::uuid, 'created', true)),
                   ('worker:worker-1', 'directory_account.opened', 'dir-a',
                    jsonb_build_object('account_id', %L::uuid, 'created', false)) $$,
    :'first_account_id', :'first_account_id'),
  'each hand-over is audited with the worker, the directory and the account, and no secret');

-- Alice's next job (a reorder) reuses it; Bob gets his own ----------------------------------
select jobs_report_attempt(job_id => :'job', lease_token => :'token',
  report => '{"directory_id": "dir-a", "attempt": 1, "outcome": "success", "confirmed": true}') \gset
select jobs_report_attempt(job_id => :'job', lease_token => :'token',
  report => '{"directory_id": "dir-b", "attempt": 1, "outcome": "success", "confirmed": true}') \gset
select jobs_complete(:'job', :'token') \gset
select id as job_2 from jobs_enqueue(dev.create_paid_order('alice@example.com', 'starter')) \gset
select lease_token as token_2 from jobs_next('worker-2', 300) \gset
select jobs_start_directory(:'job_2', :'token_2', 'dir-a') \gset
select * from directory_accounts_open(:'job_2', :'token_2', 'dir-a', 'alice-1@mail.example',
  'https://a.example/', 'k2', :'sealed_2') \gset reorder_
select ok(not :'reorder_created'::boolean, 'on the customer''s next job the account is reused, not opened again');
select is(:'reorder_account_id'::uuid, :'first_account_id'::uuid, 'it is the account the first job opened');
select is((select opened_by_job from directory_accounts where id = :'first_account_id'), :'job'::uuid,
  'it still names the job that opened it');
select throws_ok(format($$ select * from directory_accounts_open(%L, %L, 'dir-a',
    'alice-1@mail.example', 'https://a.example/', 'k1', %L) $$, :'job', :'token', :'sealed_1'),
  'DB001', NULL, 'the first job''s old lease can no longer open anything');

select count(*) from (
  select jobs_report_attempt(job_id => :'job_2', lease_token => :'token_2', report => r)
    from unnest(array[
      '{"directory_id": "dir-a", "attempt": 1, "outcome": "success", "confirmed": true}',
      '{"directory_id": "dir-b", "attempt": 1, "outcome": "success", "confirmed": true}'
    ]::jsonb[]) r
) reports \gset
select jobs_complete(:'job_2', :'token_2') \gset
select id as bob_job from jobs_enqueue(dev.create_paid_order('bob@example.com', 'starter')) \gset
select lease_token as bob_token from jobs_next('worker-3', 300) \gset
select jobs_start_directory(:'bob_job', :'bob_token', 'dir-a') \gset
select * from directory_accounts_open(:'bob_job', :'bob_token', 'dir-a', 'bob-2@mail.example',
  'https://a.example/', 'k1', :'sealed_2') \gset bob_
select ok(:'bob_created'::boolean, 'another customer gets an account of their own on the same directory');
select isnt(:'bob_account_id'::uuid, :'first_account_id'::uuid, 'a different account');

select * from finish();
rollback;
