-- Why: the real listing lifecycle (docs/recipes.md, phases) has states the first queue had
-- no words for:
-- - a job whose remaining directories all wait (for a directory's email, or a moderation
--   delay) holds no lease and no worker: job `waiting`, pending again when one is due;
-- - a directory parked between phases (`waiting`), found listed already by the lookup with
--   the business's own name, address and phone (`already_listed`: delivered, nothing
--   submitted), or checked after submission with a field wrong (`live_mismatch`) or never
--   found (`not_live`: counts against the package);
-- - an attempt that ended parked (`parked`, its browser session saved) or found the listing
--   (`already_listed`).
-- Enum values only: Postgres cannot use a value inside the transaction that adds it, so the
-- constraints and functions that use them come in later migrations.

alter type public.job_status add value if not exists 'waiting' after 'in_progress';
alter type public.job_directory_status add value if not exists 'waiting' after 'in_progress';
alter type public.job_directory_status add value if not exists 'already_listed';
alter type public.job_directory_status add value if not exists 'live_mismatch';
alter type public.job_directory_status add value if not exists 'not_live';
alter type public.attempt_outcome add value if not exists 'parked';
alter type public.attempt_outcome add value if not exists 'already_listed';
