-- Why: the staff jobs list pages by a keyset cursor (created_at, id), newest first
-- (dbolt/queries/jobs.sql jobs_list); each page is one walk of this index from the cursor,
-- where counting every match and paging by offset cost 11x an empty database's at 1/100 of a
-- year (bench/scale, issue 16). The (created_at desc, id) index of 20261208000110 orders ties
-- by id the other way; 20261208000620 drops it.
-- Its own file, built concurrently: jobs is a big table and a plain build would hold its
-- writes for the whole build (docs/deploy.md, migrations that hold a big table's lock).
create index concurrently if not exists jobs_created_at_id_idx on public.jobs (created_at, id);
