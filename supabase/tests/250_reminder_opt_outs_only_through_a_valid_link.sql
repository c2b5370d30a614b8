-- Reminder opt-outs (20261207000200): the service role issues a link and the link, only while
-- it is valid and only unaltered, stops that customer's reminders; the browser roles can
-- neither call the functions nor touch the tables, and nobody writes the tables directly.
begin;
set search_path = public, extensions;
select plan(21);

select dev.create_paid_order('alice@example.com', 'starter') \gset
select id as alice from customers where email = 'alice@example.com' \gset
select dev.create_paid_order('bob@example.com', 'starter') \gset
select id as bob from customers where email = 'bob@example.com' \gset

-- The browser roles: nothing ---------------------------------------------------------------
set local role anon;
select throws_ok($$select email_unsubscribe_links_issue('$$ || :'alice' || $$', 'reminders')$$,
  '42501', NULL, 'anon cannot issue a link');
select throws_ok($$select * from email_opt_outs_unsubscribe('x')$$, '42501', NULL,
  'anon cannot call the unsubscribe function (the portal does, as the service role)');
select throws_ok('select * from email_unsubscribe_links', '42501', NULL, 'anon cannot read the links');
reset role;
set local role authenticated;
select set_config('request.jwt.claims', json_build_object('sub',
  (select user_id from customers where id = :'alice'), 'role', 'authenticated')::text, true);
select throws_ok($$select * from email_unsubscribe_links_check('x')$$, '42501', NULL,
  'a signed-in customer cannot probe links');
select throws_ok('select * from email_opt_outs', '42501', NULL,
  'a signed-in customer cannot read opt-outs');
select throws_ok($$insert into email_opt_outs (customer_id, list) values ('$$ || :'alice' || $$', 'reminders')$$,
  '42501', NULL, 'nor write one');
reset role;

-- The service role: only through the functions ---------------------------------------------
set local role service_role;
select throws_ok($$insert into email_opt_outs (customer_id, list) values ('$$ || :'bob' || $$', 'reminders')$$,
  '42501', NULL, 'the service role cannot write an opt-out but through a link');
select throws_ok($$insert into email_unsubscribe_links (token_hash, customer_id, list, expires_at)
  values (sha256('chosen'), '$$ || :'bob' || $$', 'reminders', now() + interval '1 day')$$,
  '42501', NULL, 'nor plant a link whose token it chose');
select throws_ok($$select email_unsubscribe_links_issue('$$ || :'alice' || $$', 'marketing')$$,
  '23514', NULL, 'only reminders can be stopped');

select email_unsubscribe_links_issue(:'alice', 'reminders') as token \gset
select email_unsubscribe_links_issue(:'bob', 'reminders', 3600) as bob_token \gset
select ok(:'token' ~ '^[A-Za-z0-9_-]{43}$', 'a link token is 43 URL-safe characters (256 bits)');
select is((select count(*)::int from email_unsubscribe_links where token_hash = convert_to(:'token', 'UTF8')),
  0, 'the token itself is not stored, only its hash');

select results_eq($$select status, list, recipient_hint, opted_out_at is null from email_unsubscribe_links_check('$$ || :'token' || $$')$$,
  $$values ('valid', 'reminders', 'a…@example.com', true)$$,
  'checking a valid link says what it stops, and changes nothing');
select is((select count(*)::int from email_opt_outs), 0, 'checking wrote no opt-out');

-- An altered token: one character changed.
select results_eq($$select status from email_unsubscribe_links_check('$$ ||
  overlay(:'token' placing case when left(:'token', 1) = 'A' then 'B' else 'A' end from 1 for 1) || $$')$$,
  $$values ('unknown')$$, 'an altered link is unknown');
select throws_ok($$select * from email_opt_outs_unsubscribe('$$ ||
  overlay(:'token' placing case when left(:'token', 1) = 'A' then 'B' else 'A' end from 1 for 1) || $$')$$,
  'DB003', 'this unsubscribe link is not one we issued', 'unsubscribing with an altered link is refused');
select is((select count(*)::int from email_opt_outs), 0, 'and stopped nothing');

-- An expired link (as if its hour had passed).
reset role;
update email_unsubscribe_links set created_at = now() - interval '2 hours', expires_at = now() - interval '1 hour'
 where customer_id = :'bob';
set local role service_role;
select throws_ok($$select * from email_opt_outs_unsubscribe('$$ || :'bob_token' || $$')$$,
  'DB005', NULL, 'unsubscribing with an expired link is refused');
select is((select count(*)::int from email_opt_outs where customer_id = :'bob'), 0,
  'and stopped nothing');

-- The valid link: once, then idempotent.
select results_eq($$select list, already from email_opt_outs_unsubscribe('$$ || :'token' || $$')$$,
  $$values ('reminders', false)$$, 'a valid link stops that customer''s reminders');
select results_eq($$select list, already from email_opt_outs_unsubscribe('$$ || :'token' || $$')$$,
  $$values ('reminders', true)$$, 'a second click changes nothing and says it was already done');
select results_eq('select customer_id, list from email_opt_outs',
  format('values (%L::uuid, %L)', :'alice', 'reminders'),
  'exactly that customer''s reminders are stopped');

select * from finish();
rollback;
