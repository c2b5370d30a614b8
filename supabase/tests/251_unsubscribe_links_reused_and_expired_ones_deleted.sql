-- 20261207000210: issuing a link for a customer who already has an unexpired one gives back
-- that same link (a retried send mints nothing), valid for the new period; expired links are
-- deleted when one is issued; the key tokens are derived from is nobody's to read.
begin;
set search_path = public, extensions;
select plan(9);

select dev.create_paid_order('alice@example.com', 'starter') \gset
select id as alice from customers where email = 'alice@example.com' \gset
select dev.create_paid_order('bob@example.com', 'starter') \gset
select id as bob from customers where email = 'bob@example.com' \gset

set local role service_role;
select email_unsubscribe_links_issue(:'alice', 'reminders', 3600) as first \gset
select is(email_unsubscribe_links_issue(:'alice', 'reminders', 7200), :'first',
  'a second send (a retry) gets the same link back');
select ok(:'first' ~ '^[A-Za-z0-9_-]{43}$', 'the token is 43 base64url characters');
select ok(email_unsubscribe_links_issue(:'bob', 'reminders') <> :'first', 'another customer gets their own');
reset role;
select is((select count(*)::int from email_unsubscribe_links where customer_id = :'alice'), 1,
  'one row for Alice');
select ok((select expires_at >= now() + interval '7200 seconds' from email_unsubscribe_links where customer_id = :'alice'),
  'its expiry moved out to the later send''s');
select is((select status from email_unsubscribe_links_check(:'first')), 'valid', 'and the link works');

-- Alice's link expires: the next issue deletes it (and every other expired one) and mints anew.
update email_unsubscribe_links set created_at = now() - interval '2 days', expires_at = now() - interval '1 day'
 where customer_id = :'alice';
set local role service_role;
select isnt(email_unsubscribe_links_issue(:'bob', 'reminders'), null, 'issuing for anyone');
reset role;
select is((select count(*)::int from email_unsubscribe_links where customer_id = :'alice'), 0,
  'deletes expired links');

select ok(not has_table_privilege('service_role', 'private.email_link_keys', 'select')
          and not has_table_privilege('authenticated', 'private.email_link_keys', 'select')
          and not has_table_privilege('anon', 'private.email_link_keys', 'select'),
  'nobody but the definer functions reads the token key');

select * from finish();
rollback;
