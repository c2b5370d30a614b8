-- Why: customers read plain words; driver errors, selectors and proxy addresses are staff
-- detail. The portal's customer pages no longer print an attempt's raw message, but a signed-in
-- customer could still read it through the Data API (job_results.message,
-- job_directories.last_message), under their own JWT. Those two columns are now for staff
-- only (dbolt_staff, the role the portal's staff pages read as; 20261203000150).
--
-- The one detail a customer's words need from a message is which business field a site
-- refused (dbolt/refusals.py writes it first: "postal_code: …"). It is kept beside the message
-- as its own column, computed by Postgres (so jobs_report_attempt is untouched); the portal
-- still only prints it as one of the field names it knows.

revoke select (message) on public.job_results from authenticated;

alter table public.job_directories
  add column last_rejected_field text
    generated always as (substring(last_message from '^([a-z_]+): ')) stored;
comment on column public.job_directories.last_rejected_field is
  'The business field the last attempt''s message names first (e.g. postal_code), the only part of that staff-only message a customer''s page uses.';

-- Every column but last_message, as the table has them now (earlier migrations' included).
do $grant$
declare
  v_columns text;
begin
  select string_agg(quote_ident(a.attname), ', ' order by a.attnum) into v_columns
    from pg_attribute a
   where a.attrelid = 'public.job_directories'::regclass and a.attnum > 0
     and not a.attisdropped and a.attname <> 'last_message';
  revoke select on public.job_directories from authenticated;
  execute format('grant select (%s) on public.job_directories to authenticated', v_columns);
end
$grant$;
grant select on public.job_directories to dbolt_staff;
