"""Queue benchmark: our SQL queue functions against a bare SKIP LOCKED loop and procrastinate.

One cycle = claim a job → record 5 results → mark it done, through each system's own API:

- ours: `jobs_next` → 5 `jobs_report_attempt` calls → `jobs_complete` (dbolt's named queries);
- bare: one `UPDATE … WHERE id = (SELECT … FOR UPDATE SKIP LOCKED)` → 5 `INSERT`s →
  `UPDATE … status = 'done'` on a minimal table, the least a correct queue can do;
- procrastinate: `JobManager.fetch_job` → 5 `INSERT`s (the task's own writes) →
  `JobManager.finish_job`.

Run with `python -m bench.queue` (or `make bench-queue`); `--help` lists the options.
"""
