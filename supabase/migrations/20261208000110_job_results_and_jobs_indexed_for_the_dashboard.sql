-- Why: a job's attempts were found through job_results_directory_reported_idx (every attempt
-- at the page's directories, across every job: 500k index entries at 1/100 of a year), as
-- the only index on job_id is partial (not late) and the drill-down's query does not say
-- "not late". The staff drill-down cost 17x an empty database's (bench/scale, issue 16).
-- And the jobs list, newest first, sorted every job on each page view.
create index job_results_job_idx on public.job_results (job_id, id);
create index jobs_created_at_idx on public.jobs (created_at desc, id);
