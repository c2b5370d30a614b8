-- Hosted default privileges give anon and authenticated ALL (TRUNCATE, REFERENCES, TRIGGER,
-- writes) on every table and sequence a migration creates in `public`; RLS does not stop
-- TRUNCATE. After 20261203000100 the browser roles hold only the reads their RLS policies
-- are written for: authenticated SELECT on the customer/staff tables (some only on chosen
-- columns, 20261203000150), anon only the public columns of the package list.
begin;
set search_path = public, extensions;
select plan(6);

select is_empty($$
  select c.oid::regclass::text, r.role, p.priv
    from pg_class c
    cross join (values ('anon'), ('authenticated')) r (role)
    cross join (values ('INSERT'), ('UPDATE'), ('DELETE'), ('TRUNCATE'), ('REFERENCES'), ('TRIGGER')) p (priv)
   where c.relnamespace in ('public'::regnamespace, 'private'::regnamespace)
     and c.relkind in ('r', 'p', 'v', 'm', 'f')
     and (has_table_privilege(r.role, c.oid, p.priv)
          or (p.priv in ('INSERT', 'UPDATE', 'REFERENCES') and has_any_column_privilege(r.role, c.oid, p.priv)))
$$, 'anon and authenticated hold no write, TRUNCATE, REFERENCES or TRIGGER privilege on any table');

select set_eq($$
  select c.oid::regclass::text
    from pg_class c
   where c.relnamespace in ('public'::regnamespace, 'private'::regnamespace)
     and c.relkind in ('r', 'p', 'v', 'm', 'f')
     and has_any_column_privilege('authenticated', c.oid, 'SELECT')
$$, $$ values ('tiers'), ('customers'), ('orders'), ('directories'), ('workers'), ('jobs'),
              ('job_directories'), ('job_results'), ('audit_log'), ('alerts'), ('job_reports'),
              ('business_categories'), ('customer_logos'), ('shortfall_refunds'),
              ('customer_mailboxes'), ('inbound_emails'), ('directory_accounts'),
              ('listing_checks') $$,
  'authenticated reads exactly the tables its RLS policies are written for');

select set_eq($$
  select c.oid::regclass::text || '.' || a.attname
    from pg_class c join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
   where c.relnamespace in ('public'::regnamespace, 'private'::regnamespace)
     and c.relkind in ('r', 'p', 'v', 'm', 'f')
     and has_column_privilege('anon', c.oid, a.attnum, 'SELECT')
$$, $$ values ('tiers.name'), ('tiers.rank'), ('tiers.directory_limit') $$,
  'anon reads only the public columns of the package list, nothing else');

select is_empty($$
  select c.oid::regclass::text, r.role
    from pg_class c cross join (values ('anon'), ('authenticated')) r (role)
   where c.relnamespace in ('public'::regnamespace, 'private'::regnamespace)
     and c.relkind = 'S'
     and (has_sequence_privilege(r.role, c.oid, 'USAGE') or has_sequence_privilege(r.role, c.oid, 'SELECT')
          or has_sequence_privilege(r.role, c.oid, 'UPDATE'))
$$, 'anon and authenticated hold no privilege on any sequence');

-- In practice: TRUNCATE bypasses RLS, so the catalog check is backed by the real statement.
set local role anon;
select throws_ok('truncate public.jobs cascade', '42501', NULL, 'anon cannot TRUNCATE jobs');
reset role;
set local role authenticated;
select throws_ok('truncate public.audit_log cascade', '42501', NULL, 'authenticated cannot TRUNCATE the audit log');
reset role;

select * from finish();
rollback;
