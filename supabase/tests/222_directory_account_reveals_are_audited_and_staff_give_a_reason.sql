-- Revealing an account's password (directory_accounts_reveal, 20261206000400): the service
-- role (the portal, after checking the viewer) gets the sealed password for the customer who
-- owns the account (actor user:<uid>, checked here too) or for staff with a reason (actor
-- staff:<email>). Each reveal is audited with who and why, never with the secret; another
-- customer's account is "not found"; a staff reveal without a reason is refused.
begin;
set search_path = public, extensions;
select plan(14);

select directories_sync($$[
  {"id": "dir-a", "name": "A", "homepage": "https://a.example/", "tier": "starter", "priority": 1, "mode": "auto", "enabled": true}
]$$::jsonb) \gset
select decode(repeat('ab', 40), 'hex') as sealed \gset

select id as job from jobs_enqueue(dev.create_paid_order('alice@example.com', 'starter')) \gset
select user_id as alice from customers where email = 'alice@example.com' \gset
select dev.create_paid_order('bob@example.com', 'starter') as bob_order \gset
select user_id as bob from customers where email = 'bob@example.com' \gset
select lease_token as token from jobs_next('worker-1', 300) \gset
select jobs_start_directory(:'job', :'token', 'dir-a') \gset
select account_id as account from directory_accounts_open(:'job', :'token', 'dir-a',
  'alice-1@mail.example', 'https://a.example/', 'k1', :'sealed') \gset

select ok(not has_function_privilege('authenticated', 'public.directory_accounts_reveal(uuid, text, text)', 'execute')
          and not has_function_privilege('anon', 'public.directory_accounts_reveal(uuid, text, text)', 'execute'),
  'neither a browser role nor a signed-in user may call it');

set local role service_role;
-- The owner ---------------------------------------------------------------------------------
select results_eq(format($$ select customer_id, directory_id, login, sealed_key_id, sealed_password
    from directory_accounts_reveal(%L, 'user:%s') $$, :'account', :'alice'),
  format($$ select (select id from customers where email = 'alice@example.com'), 'dir-a'::text,
    'alice-1@mail.example'::text, 'k1'::text, %L::bytea $$, :'sealed'),
  'the owner gets the sealed password, its key id and what opening it needs (customer, directory)');
select isnt((select last_revealed_at from directory_accounts where id = :'account'), null,
  'the reveal is stamped on the account');
select results_eq($$ select actor, job_id, directory_id, details from audit_log
                      where action = 'directory_account.revealed' $$,
  format($$ values ('user:%s'::text, %L::uuid, 'dir-a'::text, jsonb_build_object('account_id', %L::uuid)) $$,
    :'alice', :'job', :'account'),
  'and audited: who, the account, on the job that opened it — no secret in the details');

-- Another customer --------------------------------------------------------------------------
select throws_ok(format($$ select * from directory_accounts_reveal(%L, 'user:%s') $$, :'account', :'bob'),
  'DB003', format('directory account %s not found', :'account'),
  'another customer asking for it is told it does not exist (DB003)');
select throws_ok(format($$ select * from directory_accounts_reveal(%L, 'user:%s') $$, gen_random_uuid(), :'alice'),
  'DB003', NULL, 'an account that does not exist: the same answer');

-- Staff -------------------------------------------------------------------------------------
select throws_ok(format($$ select * from directory_accounts_reveal(%L, 'staff:ann@directorybolt.test') $$, :'account'),
  'DB005', 'reason is required when staff reveal a customer''s password',
  'staff without a reason are refused, naming the reason');
select throws_ok(format($$ select * from directory_accounts_reveal(%L, 'staff:ann@directorybolt.test', '   ') $$, :'account'),
  'DB005', 'reason is required when staff reveal a customer''s password', 'a blank reason is no reason');
select results_eq(format($$ select sealed_password from directory_accounts_reveal(%L,
    'staff:ann@directorybolt.test', ' Customer asked by phone to re-send the login ') $$, :'account'),
  format($$ values (%L::bytea) $$, :'sealed'), 'staff with a reason get it');
select results_eq($$ select actor, details ->> 'reason' from audit_log
                      where action = 'directory_account.revealed' order by id $$,
  format($$ values ('user:%s'::text, null::text), ('staff:ann@directorybolt.test', 'Customer asked by phone to re-send the login') $$,
    :'alice'),
  'the staff reveal is audited with the staff member and their reason');

-- Bad actors --------------------------------------------------------------------------------
select throws_ok(format($$ select * from directory_accounts_reveal(%L, 'worker:w1', 'x') $$, :'account'),
  'DB005', 'actor must be user:<auth user id> or staff:<email>', 'an actor that is neither is refused');
select throws_ok(format($$ select * from directory_accounts_reveal(%L, 'user:not-a-uuid') $$, :'account'),
  'DB005', 'actor must be user:<auth user id> or staff:<email>', 'a user actor must carry a user id');
select is((select count(*)::int from audit_log where action = 'directory_account.revealed'), 2,
  'refused reveals are not audited as reveals');
select is_empty($$ select 1 from audit_log a, directory_accounts d
                   where a.details::text like '%' || encode(d.password_sealed, 'hex') || '%'
                      or a.details::text like '%' || encode(d.password_sealed, 'base64') || '%' $$,
  'no audit row carries the sealed password');
reset role;

select * from finish();
rollback;
