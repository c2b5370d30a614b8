-- customers.public_email (20261205000600) is a plain address: directories publish it and our
-- emails print it, so a display name, a list, quotes, angle brackets, spaces, control or
-- bidi characters are refused by the constraint, whoever writes the row.
begin;
set search_path = public, extensions;
select plan(13);

select dev.create_paid_order('plain.buyer@example.com', 'starter', '{}') as buyer_order \gset
select id as customer from customers where email = 'plain.buyer@example.com' \gset

create function pg_temp.set_email(customer uuid, address text) returns void language sql as $$
  update public.customers set public_email = address where id = customer;
$$;

select ok((select convalidated from pg_constraint
            where conname = 'customers_public_email_is_an_address'), 'the constraint is validated');

select lives_ok(format($$ select pg_temp.set_email(%L, 'hello@bakery.example') $$, :'customer'),
  'a plain address is stored');
select lives_ok(format($$ select pg_temp.set_email(%L, 'first.last+shop@mail.xn--p1ai') $$, :'customer'),
  'dots, plus and an international domain in its xn-- form are plain');
select lives_ok(format($$ select pg_temp.set_email(%L, null) $$, :'customer'),
  'no public email at all is fine');

select throws_ok(format($$ select pg_temp.set_email(%L, %L) $$, :'customer', t.address), '23514', null,
    'refused: ' || t.why)
  from (values
    ('"Support" <x@evil.example>', 'a display name in angle brackets'),
    ('a@b.example,c@d.example', 'a list'),
    ('a b@bakery.example', 'a space'),
    ('"a"@bakery.example', 'quotes'),
    ('hello@bakery.example' || chr(8238) || 'moc', 'a right-to-left override (U+202E)'),
    ('hello' || chr(10) || '@bakery.example', 'a newline'),
    ('hello@bakery', 'no dot in the host'),
    (repeat('a', 65) || '@bakery.example', 'a mailbox longer than 64'),
    ('a@' || repeat('b', 250) || '.example', 'longer than 254 or a label longer than 63')
  ) as t(address, why);

select * from finish();
rollback;
