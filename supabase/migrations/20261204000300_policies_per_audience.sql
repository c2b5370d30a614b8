-- Why: seven read policies were named "customers can read …" but also admitted staff
-- (`… or (select private.is_staff())`), so a policy's name told only half of who reads the
-- table. Each is renamed to the sentence it enforces, both audiences named.
--
-- Not split into a customer policy and a "staff can read all …" policy: customers and staff
-- are both `authenticated` (staff also as `dbolt_staff`, a member of it), and two permissive
-- policies for one role and action are what splinter's multiple_permissive_policies flags
-- (make db-advisors, warnings fail). Giving the staff policy to `dbolt_staff` alone would
-- clear that, but would stop a staff JWT read as `authenticated` from seeing every row, which
-- supabase/tests/110 and tests/test_auth_standin.py hold. Who sees which rows is unchanged.

alter policy "customers can read their own record" on public.customers
  rename to "customers can read their own record, staff every record";
alter policy "customers can read their own orders" on public.orders
  rename to "customers can read their own orders, staff all orders";
alter policy "customers can read their own jobs" on public.jobs
  rename to "customers can read their own jobs, staff all jobs";
alter policy "customers can read the directories of their own jobs" on public.job_directories
  rename to "customers can read their jobs' directories, staff every job's";
alter policy "customers can read the attempts of their own jobs" on public.job_results
  rename to "customers can read their jobs' attempts, staff every job's";
alter policy "customers can read their own reports" on public.job_reports
  rename to "customers can read their own reports, staff all reports";
alter policy "customers can read their own logos" on public.customer_logos
  rename to "customers can read their own logos, staff all logos";
