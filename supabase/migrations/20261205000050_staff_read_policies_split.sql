-- Why: each of seven read policies admitted two audiences in one USING clause ("… or (select
-- private.is_staff())"), so neither the policy's name nor its role said who reads the table.
-- Each becomes a customer policy for `authenticated` and a "staff can read all …" policy for
-- `dbolt_staff` alone.
--
-- `dbolt_staff` is the role the portal's dashboard switches to for a viewer whose verified JWT
-- says staff (20261203000150_data_api_column_grants.sql); PostgREST never switches to it. So a
-- staff JWT through the Data API now reads what any signed-in user without a customer record
-- reads (nothing of these tables) — least privilege: staff read customer data on the dashboard,
-- which audits interventions and is the only staff surface we run. Giving the staff policy its
-- own role also keeps splinter's multiple_permissive_policies quiet (make db-advisors), which
-- two permissive policies for `authenticated` on one table and action would not.

drop policy "customers can read their own record, staff every record" on public.customers;
create policy "customers can read their own record"
  on public.customers for select to authenticated
  using (user_id = (select auth.uid()));
create policy "staff can read every customer record"
  on public.customers for select to dbolt_staff
  using ((select private.is_staff()));

drop policy "customers can read their own orders, staff all orders" on public.orders;
create policy "customers can read their own orders"
  on public.orders for select to authenticated
  using (customer_id = (select private.current_customer_id()));
create policy "staff can read all orders"
  on public.orders for select to dbolt_staff
  using ((select private.is_staff()));

drop policy "customers can read their own jobs, staff all jobs" on public.jobs;
create policy "customers can read their own jobs"
  on public.jobs for select to authenticated
  using (customer_id = (select private.current_customer_id()));
create policy "staff can read all jobs"
  on public.jobs for select to dbolt_staff
  using ((select private.is_staff()));

drop policy "customers can read their jobs' directories, staff every job's" on public.job_directories;
create policy "customers can read the directories of their own jobs"
  on public.job_directories for select to authenticated
  using (job_id in (select id from public.jobs where customer_id = (select private.current_customer_id())));
create policy "staff can read all jobs' directories"
  on public.job_directories for select to dbolt_staff
  using ((select private.is_staff()));

drop policy "customers can read their jobs' attempts, staff every job's" on public.job_results;
create policy "customers can read the attempts of their own jobs"
  on public.job_results for select to authenticated
  using (job_id in (select id from public.jobs where customer_id = (select private.current_customer_id())));
create policy "staff can read all attempts"
  on public.job_results for select to dbolt_staff
  using ((select private.is_staff()));

drop policy "customers can read their own reports, staff all reports" on public.job_reports;
create policy "customers can read their own reports"
  on public.job_reports for select to authenticated
  using (job_id in (select id from public.jobs where customer_id = (select private.current_customer_id())));
create policy "staff can read all reports"
  on public.job_reports for select to dbolt_staff
  using ((select private.is_staff()));

drop policy "customers can read their own logos, staff all logos" on public.customer_logos;
create policy "customers can read their own logos"
  on public.customer_logos for select to authenticated
  using (customer_id = (select private.current_customer_id()));
create policy "staff can read all logos"
  on public.customer_logos for select to dbolt_staff
  using ((select private.is_staff()));
