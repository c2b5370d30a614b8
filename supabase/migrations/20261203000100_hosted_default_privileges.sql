-- Why: a hosted Supabase project grants, by default privileges, ALL on every table, function
-- and sequence that `postgres` (the role `supabase db push` runs as) creates in `public` to
-- anon, authenticated and service_role. Our earlier migrations only revoked EXECUTE from
-- PUBLIC, which does not touch those named grants: through the Data API the anon key could
-- run 37 of our functions (jobs_next, stripe_events_apply, directories_sync, …) and anon and
-- authenticated held TRUNCATE (which RLS does not stop) and writes on every table.
--
-- This migration makes a database that has run every earlier migration safe under those
-- defaults: it takes every privilege away from the browser roles, then grants back exactly
-- what each is meant to have, and changes postgres's default privileges so that objects
-- later migrations create start with nothing for anon and authenticated. The allow-lists in
-- supabase/tests/011_hosted_grants_allow_list.sql and 012_hosted_grants_tables.sql guard it.
-- service_role keeps its grants: it is the trusted server side.

-- Objects created from now on --------------------------------------------------------------
-- (Only postgres's defaults: supabase_admin's are not ours to change on a hosted project,
-- and we never create objects as supabase_admin.)
alter default privileges for role postgres in schema public
  revoke all on tables from anon, authenticated;
alter default privileges for role postgres in schema public
  revoke all on sequences from anon, authenticated;
alter default privileges for role postgres in schema public
  revoke all on functions from public, anon, authenticated;
alter default privileges for role postgres
  revoke execute on functions from public;

-- Functions: nothing, then the allow-list -------------------------------------------------
revoke all on all functions in schema public from public, anon, authenticated;
revoke all on all functions in schema private from public, anon, authenticated;

-- RLS policies and the functions below call these under the caller's role.
grant execute on function
  private.is_staff(),
  private.is_worker(),
  private.current_customer_id(),
  private.require_staff(),
  private.staff_actor(),
  private.business_missing_fields(jsonb),
  private.hours_are_valid(jsonb)
  to authenticated;
-- The customer's business form, under the customer's JWT.
grant execute on function
  public.customers_save_business(uuid, jsonb, boolean),
  public.customers_save_logo(uuid, bytea, text, text)
  to authenticated;
-- The staff dashboard, under the staff user's JWT (each refuses non-staff with 42501).
grant execute on function
  public.staff_queue_status(int),
  public.staff_chart_series(int, int),
  public.staff_directory_success(int),
  public.staff_alerts_acknowledge(bigint)
  to authenticated;

-- Tables and sequences: nothing, then the reads RLS policies are written for -----------------
revoke all on all tables in schema public from anon, authenticated;
revoke all on all sequences in schema public from anon, authenticated;
revoke all on all tables in schema private from anon, authenticated;
revoke all on all sequences in schema private from anon, authenticated;

grant select on
  public.tiers,
  public.customers,
  public.orders,
  public.directories,
  public.workers,
  public.jobs,
  public.job_directories,
  public.job_results,
  public.audit_log,
  public.alerts,
  public.job_reports,
  public.business_categories,
  public.customer_logos
  to authenticated;
-- The pricing page is public: anon reads the package list (policy "anyone can read the
-- packages on offer"), and nothing else.
grant select on public.tiers to anon;
