-- The service role (webhook and portal back end through the SQL gateway, which `set role`s
-- like PostgREST) creates customers and saves the Business Info Form. The form's rules are
-- check constraints, and those must reject bad input with a check violation naming the
-- rule, not fail every write with "permission denied" for the helper they call.
begin;
set search_path = public, extensions;
select plan(9);

select dev.create_paid_order('form@example.com', 'starter') as order_id \gset
select id as cust from customers where email = 'form@example.com' \gset
select dev.sample_business() -> 'hours' as good_hours \gset

set local role service_role;
select set_config('request.jwt.claims', '{"role":"service_role"}', true) \gset

select lives_ok(format($$ update customers set city = 'Chicago' where id = %L $$, :'cust'),
  'service_role can update a customer''s business info');
select lives_ok(
  format($$ insert into customers (email, business_name, phone, website, country, hours)
            values ('new@example.com', 'New Shop', '+12175550199', 'https://new.example', 'US', %L) $$, :'good_hours'),
  'service_role can create a customer with a well-formed form');
select lives_ok(
  $$ insert into customers (email) values ('blank@example.com') $$,
  'service_role can create a customer who has not filled the form yet');
select throws_ok(
  $$ insert into customers (email, hours) values ('badhours@example.com', '{"mon": []}') $$,
  '23514', 'new row for relation "customers" violates check constraint "customers_hours_are_valid"',
  'opening hours without all seven days are refused by customers_hours_are_valid');
select throws_ok(
  $$ insert into customers (email, hours) values ('late@example.com',
       '{"mon": [{"open": "17:00", "close": "09:00"}], "tue": [], "wed": [], "thu": [], "fri": [], "sat": [], "sun": []}') $$,
  '23514', 'new row for relation "customers" violates check constraint "customers_hours_are_valid"',
  'a range that closes before it opens is refused');
select throws_ok(
  $$ insert into customers (email, phone) values ('phone@example.com', '217-555-0123') $$,
  '23514', 'new row for relation "customers" violates check constraint "customers_phone_is_e164"',
  'a phone number that is not E.164 is refused by customers_phone_is_e164');
select throws_ok(
  $$ insert into customers (email) values ('Upper@Example.com') $$,
  '23514', 'new row for relation "customers" violates check constraint "customers_email_is_lowercase"',
  'an email that is not lower case is refused');
select lives_ok(
  format($$ insert into orders (customer_id, tier) values (%L, 'growth') $$, :'cust'),
  'service_role can record a new (pending) order');
reset role;

select results_eq(
  $$ select email, city from customers where email in ('form@example.com', 'new@example.com', 'blank@example.com') order by email $$,
  $$ values ('blank@example.com', null), ('form@example.com', 'Chicago'), ('new@example.com', null) $$,
  'the service role''s writes are stored');

select * from finish();
rollback;
