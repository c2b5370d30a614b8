"""Orchestrator benchmark: what the HTTP door costs over calling the same SQL directly.

One cycle is what a worker does with a job: `POST /jobs-next` → one `POST /jobs/{id}/attempts`
per directory (a confirmed success) → `POST /jobs/{id}/complete`. Two paths drain the same
prefilled queue with the same number of concurrent simulated workers, in the same run:

- http: a real `python -m orchestrator` subprocess, driven through dbolt's worker client
  (`dbolt.orchestrator_client`) by asyncio tasks, each with its own httpx client as worker
  processes have (or all sharing one: `--http-client shared`);
- direct: the same named queries (`jobs_next_assignment`, `jobs_report_attempt`,
  `jobs_complete`) through `dbolt.sql.Queries` on a psycopg async pool shaped like the
  orchestrator's, from the same number of asyncio tasks.

Reported: requests/s and cycles/s, per-request p50/p99 latency, the ratio HTTP/direct, CPU
seconds per process, and peak RSS of the orchestrator and of this process.

Run with `python -m bench.orchestrator` (or `make bench-orchestrator`); `--help` lists the
options.
"""
