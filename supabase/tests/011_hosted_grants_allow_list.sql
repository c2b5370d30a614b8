-- On a hosted project every function a migration creates in `public` is executable by anon
-- and authenticated (default privileges; `revoke … from public` does not undo them). This
-- database is built the same way (devstack/supabase_bootstrap.sql), so these lists are what a
-- browser holding the anon key, or a signed-in customer's JWT, can really call. A function
-- granted by mistake — or a new one left with the hosted default — fails this file.
begin;
set search_path = public, extensions;
select plan(5);

select set_eq($$
  select p.oid::regprocedure::text from pg_proc p
   where p.pronamespace in ('public'::regnamespace, 'private'::regnamespace)
     and has_function_privilege('authenticated', p.oid, 'execute')
$$, $$ values
  -- used in RLS policies and by the functions below
  ('private.is_staff()'),
  ('private.is_worker()'),
  ('private.current_customer_id()'),
  ('private.require_staff()'),
  ('private.staff_actor()'),
  ('private.business_missing_fields(jsonb)'),
  ('private.hours_are_valid(jsonb)'),
  -- the customer's business form (portal, under the customer's JWT)
  ('customers_save_business(uuid,jsonb,boolean)'),
  ('customers_save_logo(uuid,bytea,text,text)'),
  ('customers_hold_logo(uuid,bytea,text)'),
  ('customers_use_logo(uuid,uuid,text)'),
  -- business_missing_fields asks it, under the caller's role
  ('private.country_requires_postcode(text)'),
  -- "I've done it" on the customer's job page (checks the job is theirs)
  ('customers_mark_action_done(uuid,text)'),
  -- the customer's campaign mailbox page: their own mail, bodies cut (no API role reads a
  -- mail body from the table)
  ('inbound_emails_list_own(integer,integer)'),
  -- the pricing page for a signed-in visitor, and what a job delivered against its package
  -- (security invoker: RLS holds a customer to their own job)
  ('tiers_on_offer()'),
  ('package_promise(uuid)'),
  ('private.package_counts(uuid)'),
  -- the staff dashboard (portal, under the staff user's JWT; each checks is_staff())
  ('staff_queue_status(integer)'),
  ('staff_chart_series(integer,integer)'),
  ('staff_directory_success(integer)'),
  ('staff_alerts_acknowledge(bigint)'),
  ('staff_review_counts()'),
  -- the staff jobs list's exact counts (staff JWT; refuses everyone else)
  ('staff_job_counts_by_status()'),
  -- directory health and its actions (staff JWT; each checks is_staff())
  ('staff_directory_health()'),
  ('staff_directory_reverify(text,timestamp with time zone)'),
  ('staff_directory_set_enabled(text,boolean)'),
  -- scouts from the dashboard, saving a draft, a directory's detail (staff JWT; each checks)
  ('staff_directory_scout_request(text)'),
  ('staff_directory_scouts(integer)'),
  ('staff_directory_scout(bigint)'),
  ('staff_directory_scout_save(bigint,text,text,text,text)'),
  ('staff_directory_detail(text,integer)')
$$, 'authenticated may execute exactly the allow-listed functions in public and private');

select is_empty($$
  select p.oid::regprocedure::text from pg_proc p
   where p.pronamespace in ('public'::regnamespace, 'private'::regnamespace)
     and has_function_privilege('anon', p.oid, 'execute')
$$, 'anon may execute no function in public or private');

select is_empty($$
  select p.oid::regprocedure::text from pg_proc p
   where p.pronamespace in ('public'::regnamespace, 'private'::regnamespace)
     and has_function_privilege('public', p.oid, 'execute')
$$, 'PUBLIC may execute no function in public or private');

-- Future migrations start safe: postgres's default privileges in public give the API roles
-- nothing (the hosted defaults were revoked by 20261203000100).
select is_empty($$
  select d.defaclobjtype::text, a.grantee::regrole::text, a.privilege_type
    from pg_default_acl d, aclexplode(d.defaclacl) a
   where d.defaclrole = 'postgres'::regrole
     and d.defaclnamespace in (0, 'public'::regnamespace)
     and a.grantee in ('anon'::regrole, 'authenticated'::regrole, 0)
     and not (d.defaclobjtype = 'T' and a.grantee = 0)  -- types: USAGE to PUBLIC, built in
$$, 'postgres''s default privileges grant anon, authenticated and PUBLIC nothing');

-- And they hold in practice: a function created now (as a later migration would) is not
-- executable by the API roles.
create function public.zz_created_by_a_later_migration() returns int language sql as 'select 1';
select ok(not has_function_privilege('anon', 'public.zz_created_by_a_later_migration()', 'execute')
          and not has_function_privilege('authenticated', 'public.zz_created_by_a_later_migration()', 'execute'),
  'a function a later migration creates is executable by neither anon nor authenticated');

select * from finish();
rollback;
