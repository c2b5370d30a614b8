-- Migration 20261208000410: a customer can no longer join their own 'customer:<uid>' topic
-- (read) nor broadcast on it (send); staff still read 'staff'.
begin;
set search_path = public, extensions;
select plan(4);

select dev.create_paid_order('closed@example.com', 'starter') as order_id \gset
select user_id as uid from customers where email = 'closed@example.com' \gset
insert into realtime.messages (topic, extension, event, payload, private)
  values ('customer:' || :'uid', 'broadcast', 'progress', '{"old": true}', true);

select policies_are('realtime', 'messages',
  array['signed-in users receive only the topics meant for them'],
  'realtime.messages keeps its one read policy');

select dev.impersonate(:'uid') \gset
select set_config('realtime.topic', 'customer:' || :'uid', true) \gset
select is((select count(*)::int from realtime.messages), 0,
  'a customer cannot read (join) customer:<uid>');
select throws_ok(
  format($$ insert into realtime.messages (topic, extension, event, payload, private)
            values (%L, 'broadcast', 'progress', '{"forged": true}', true) $$, 'customer:' || :'uid'),
  '42501', null, 'a customer cannot send on customer:<uid>');
reset role;
select set_config('request.jwt.claims', null, true) \gset
select is((select count(*)::int from realtime.messages where payload ? 'forged'), 0,
  'nothing forged got in');

select * from finish();
rollback;
