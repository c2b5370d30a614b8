-- Guard: every table in schema public (and realtime.messages, which authorises Realtime
-- joins) has row level security switched on. Deny by default: a table added without RLS
-- would be readable by every signed-in user through the Data API.
begin;
set search_path = public, extensions;
select plan(9);

-- The query the guard relies on, as a view so the sanity check below uses the very same text.
create temp view tables_without_rls as
  select c.relname::text collate "default" as table_name
    from pg_class c
   where c.relnamespace = 'public'::regnamespace
     and c.relkind in ('r', 'p')
     and not c.relrowsecurity;

select cmp_ok(
  (select count(*)::int from pg_class c
    where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p')),
  '>=', 12,
  'schema public has the product tables (the guard is not looking at an empty schema)');

select is_empty('select table_name from tables_without_rls',
  'every table in schema public has row level security enabled');

select ok(
  (select c.relrowsecurity from pg_class c where c.oid = 'realtime.messages'::regclass),
  'realtime.messages has row level security enabled (Realtime join authorisation)');

-- Partitions do not inherit RLS; they must not be reachable directly either.
select is_empty($$
  select c.relname::text from pg_inherits i join pg_class c on c.oid = i.inhrelid
   where i.inhparent = 'realtime.messages'::regclass
     and (has_table_privilege('anon', c.oid, 'SELECT,INSERT,UPDATE')
          or has_table_privilege('authenticated', c.oid, 'SELECT,INSERT,UPDATE'))
$$, 'no partition of realtime.messages is directly readable or writable by anon or authenticated');

select ok(
  (select count(*) from pg_policies where schemaname = 'realtime' and tablename = 'messages'
      and cmd = 'SELECT' and 'authenticated' = any (roles)) = 1,
  'realtime.messages has exactly one select policy for authenticated');

-- Writes go through SQL functions only: no client role may write any public table directly.
select is_empty($$
  select c.relname::text || ' ' || r.role || ' ' || p.priv
    from pg_class c
   cross join (values ('anon'), ('authenticated')) as r(role)
   cross join (values ('INSERT'), ('UPDATE'), ('DELETE'), ('TRUNCATE')) as p(priv)
   where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p')
     and has_table_privilege(r.role, c.oid, p.priv)
$$, 'anon and authenticated cannot insert, update, delete or truncate any public table');

select results_eq($$
  select c.relname::text collate "default" from pg_class c
   where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p')
     and has_any_column_privilege('anon', c.oid, 'SELECT')
   order by 1
$$, $$ values ('tiers') $$,
  'anon can read only the public package list (tiers)');

-- The guard can fail: switch RLS off on one table and it is reported by name.
alter table public.alerts disable row level security;
select results_eq('select table_name from tables_without_rls',
  $$ values ('alerts') $$,
  'the guard reports a table whose row level security was switched off');
alter table public.alerts enable row level security;
select is_empty('select table_name from tables_without_rls',
  'and is clean again once it is switched back on');

select * from finish();
rollback;
