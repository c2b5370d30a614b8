-- Why: jobs_created_at_idx (created_at desc, id) of 20261208000110 served the offset-paged
-- jobs list, which is gone; the keyset list walks jobs_created_at_id_idx (20261208000600) and
-- nothing else reads this one, so it only cost every job insert and status change a write.
-- Its own file, dropped concurrently: a plain drop waits for an exclusive lock on jobs.
drop index concurrently if exists public.jobs_created_at_idx;
