-- Why: whether a skipped directory was skipped by its job's cancel is its
-- `directory.cancelled` audit row (private.job_directory_states, 20261208000630). Through the
-- audit log's job index each directory read every audit row of its job (a hundred per job),
-- and the jobs list's estimated cost went past the JIT threshold (100 ms of compiling a page).
-- This index holds only the cancels' rows (one per directory a cancel skipped); every other
-- audit insert only tests the predicate.
-- Its own file, built concurrently: audit_log is a big table (docs/deploy.md).
create index concurrently if not exists audit_log_directory_cancelled_idx
  on public.audit_log (job_id, directory_id) where action = 'directory.cancelled';
