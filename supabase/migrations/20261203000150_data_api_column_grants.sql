-- Why: RLS decides which rows a signed-in customer reads through the Data API, not which
-- columns. On their own job rows a customer could read the queue's internals: the lease
-- token (with it, anyone who can reach the orchestrator could act as the worker holding the
-- job), worker ids, proxy labels, artifact paths (screenshots and HTML of the submission),
-- and every directory's submission recipe. Customers now read only the columns their pages
-- use; the package list shows anon and customers only what the pricing page prints.
--
-- Staff read those internals on the dashboard's drill-down. Column privileges belong to a
-- role, and staff and customers share `authenticated` (Supabase puts both in it), so staff
-- read them as `dbolt_staff`: a role that is `authenticated` (every policy written for
-- authenticated applies to it, and RLS still requires private.is_staff(), i.e. the JWT's
-- app_metadata.role) plus SELECT on the internal columns. Only the portal switches to it,
-- and only for a viewer whose verified JWT says staff (portal/database.py); PostgREST never
-- does, so through the Data API a staff JWT reads what a customer's would — the dashboard
-- is the place for internals.

do $role$
begin
  if not exists (select from pg_roles where rolname = 'dbolt_staff') then
    create role dbolt_staff nologin inherit;
  end if;
end
$role$;
grant authenticated to dbolt_staff;
-- The portal's database user switches to it, as it does to authenticated.
grant dbolt_staff to postgres;

-- jobs: not lease_token, worker_id, lease_expires_at, lost_leases.
revoke select on public.jobs from authenticated;
grant select (id, order_id, customer_id, tier, status, business_snapshot, created_at,
              updated_at, started_at, completed_at)
  on public.jobs to authenticated;
grant select on public.jobs to dbolt_staff;

-- job_results: not proxy, artifacts, worker_id, nor the captcha details.
revoke select on public.job_results from authenticated;
grant select (id, job_id, directory_id, attempt, outcome, confirmed, error_code, message,
              listing_url, action_required, duration_ms, reported_at)
  on public.job_results to authenticated;
grant select on public.job_results to dbolt_staff;

-- directories: what a customer's job page shows, not the recipe, submit URL or how we
-- get past the site (captcha, proxy). Staff read recipes in directories.json, not here.
revoke select on public.directories from authenticated;
grant select (id, name, homepage, country, categories, tier, enabled)
  on public.directories to authenticated;

-- tiers: what the pricing page prints, not the dispatch counters and caps.
revoke select on public.tiers from anon, authenticated;
grant select (name, rank, directory_limit) on public.tiers to anon, authenticated;
