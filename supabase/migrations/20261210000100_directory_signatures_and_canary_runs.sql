-- Why: issue 17 (canary). A recipe that silently stops matching its site burns every
-- customer's attempt there, and nothing told staff until jobs failed. A scheduled canary (a
-- dry run: fill, never submit) takes each enabled directory's *form signature* (the forms,
-- fields, walls and captcha the page shows, built by the worker side; here an opaque JSON
-- object and `digest`, the sha256 hex of its canonical JSON, so two signatures are compared
-- by digest only). This file holds the data:
--   * directories.signature / signature_digest / signed_at: the baseline the canary compares
--     with (the first signature seen, or the one staff re-verified);
--   * directories.drifted_at: set when a canary found the signature changed or a step failed.
--     A drifted directory is out of new jobs until staff re-verify it. `enabled` stays staff's
--     (and directories.json's) choice: drift is a separate fact, cleared only by re-verify.
--   * public.directory_canary_runs: every canary run, for the health page's history.
-- None of it is synced from directories.json (directories_sync names its columns), so a sync
-- never wipes a baseline or a drift.

alter table public.directories
  add column signature jsonb,
  add column signature_digest text,
  add column signed_at timestamptz,
  add column drifted_at timestamptz,
  add constraint directories_signature_is_an_object
    check (signature is null or jsonb_typeof(signature) = 'object'),
  add constraint directories_signature_digest_is_sha256_hex
    check (signature_digest ~ '^[0-9a-f]{64}$'),
  add constraint directories_signature_is_whole
    check ((signature is null) = (signature_digest is null)
           and (signature is null) = (signed_at is null));
comment on column public.directories.signature is
  'The baseline form signature the canary compares each run with (first seen, or adopted by a staff re-verify); opaque JSON built by the worker side.';
comment on column public.directories.signature_digest is
  'sha256 hex of the baseline signature''s canonical JSON: what canary runs are compared by.';
comment on column public.directories.signed_at is
  'When the baseline signature was observed (the health page''s signature age).';
comment on column public.directories.drifted_at is
  'Set when a canary found the signature changed or a step failed: out of new jobs (private.directory_eligible) until staff re-verify (staff_directory_reverify).';

create table public.directory_canary_runs (
  id bigint generated always as identity primary key,
  directory_id text not null references public.directories (id),
  ran_at timestamptz not null default now(),
  -- Null only when a step failed before the page could be read.
  signature jsonb check (signature is null or jsonb_typeof(signature) = 'object'),
  digest text check (digest ~ '^[0-9a-f]{64}$'),
  -- The stored baseline's digest this run was compared with (null: none yet).
  baseline_digest text,
  ok boolean not null,
  failed_step text check (btrim(failed_step) <> ''),
  error text,
  -- This run stored its signature as the directory's first baseline.
  set_baseline boolean not null default false,
  -- This run took the directory out of new jobs (it was not drifted before).
  raised_drift boolean not null default false,
  constraint directory_canary_runs_signature_is_whole check ((signature is null) = (digest is null)),
  constraint directory_canary_runs_unread_page_failed check (digest is not null or failed_step is not null),
  constraint directory_canary_runs_ok_means_matched check (
    not ok or (failed_step is null and (baseline_digest is null or baseline_digest = digest))),
  constraint directory_canary_runs_drift_is_a_failure check (not (ok and raised_drift))
);
comment on table public.directory_canary_runs is
  'Every canary run (a dry run of a directory''s recipe, never submitting): its signature and digest, whether it matched the baseline, the step that failed; the staff health page''s last canary and drift history.';
create index directory_canary_runs_directory_idx on public.directory_canary_runs (directory_id, ran_at desc, id desc);

-- Written by directories_record_canary (service role) and read by staff through
-- staff_directory_health; no API role reads or writes the table itself.
alter table public.directory_canary_runs enable row level security;
revoke all on table public.directory_canary_runs from public, anon, authenticated;
