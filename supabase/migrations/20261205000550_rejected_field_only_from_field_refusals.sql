-- Why: job_directories.last_rejected_field (20261205000420), readable by customers, copied the
-- first lowercase word of ANY last message, and last_message is staff-only text: staff's own
-- "mark failed" reason or a driver error could lend it a word ("internal: …"). Only a refusal
-- about a business field (field_rejected, missing_business_field) starts with that field's
-- name (dbolt/refusals.py field_message writes it); the column now reads nothing else.
-- A generated column's expression cannot be changed in place on Postgres 15: it is dropped and
-- added again, and its column grant with it.

alter table public.job_directories drop column last_rejected_field;
alter table public.job_directories
  add column last_rejected_field text generated always as (
    case when last_error_code in ('field_rejected', 'missing_business_field')
         then substring(last_message from '^([a-z_]+): ') end) stored;
comment on column public.job_directories.last_rejected_field is
  'The business field the last refusal named (field_rejected, missing_business_field: e.g. postal_code), the only part of that staff-only message a customer''s page uses.';
grant select (last_rejected_field) on public.job_directories to authenticated;
