"""The baseline: the least a correct SKIP LOCKED queue does for the same cycle.

No guards, audit, broadcasts or tier caps: a claim is one statement (the SELECT … FOR
UPDATE SKIP LOCKED inside the UPDATE that takes the row, so it costs one round trip like
our jobs_next), five results are five inserts, done is one update checked against the lease.
"""

from __future__ import annotations

import psycopg

from bench.queue import databases
from bench.queue.sync_client import SyncClient

DATABASE = "dbolt_bench_bare"
RESULTS_PER_JOB = 5

SCHEMA_SQL = """
create table bare_jobs (
  id bigserial primary key,
  status text not null default 'pending',
  created_at timestamptz not null default now(),
  lease uuid
);
-- The same shape of index our jobs_next claims from: only pending rows, in FIFO order.
create index bare_jobs_pending_idx on bare_jobs (id) where status = 'pending';
create table bare_results (
  job_id bigint not null references bare_jobs (id),
  n int not null
);
"""

PREFILL_SQL = "insert into bare_jobs (status) select 'pending' from generate_series(1, %(jobs)s)"

CLAIM_SQL = """
update bare_jobs set status = 'running', lease = gen_random_uuid()
 where id = (select id from bare_jobs where status = 'pending'
              order by id limit 1 for update skip locked)
returning id, lease
"""

RESULT_SQL = "insert into bare_results (job_id, n) values (%(job_id)s, %(n)s)"

DONE_SQL = """
update bare_jobs set status = 'done', lease = null
 where id = %(job_id)s and lease = %(lease)s and status = 'running'
"""

FINISHED_SQL = """
select count(*) from bare_jobs j
 where j.status = 'done' and (select count(*) from bare_results r where r.job_id = j.id) = 5
"""


class BareClient(SyncClient):
    def work(self) -> int:
        cycles = 0
        while claimed := self.conn.execute(CLAIM_SQL).fetchone():
            job_id, lease = claimed
            for n in range(1, RESULTS_PER_JOB + 1):
                self.conn.execute(RESULT_SQL, {"job_id": job_id, "n": n})
            done = self.conn.execute(DONE_SQL, {"job_id": job_id, "lease": lease})
            if done.rowcount != 1:
                raise RuntimeError(f"bare job {job_id} lost its lease")
            cycles += 1
        return cycles


class Bare:
    def create_database(self) -> str:
        url = databases.fresh_empty(DATABASE)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(SCHEMA_SQL)
        return url

    def prefill(self, url: str, jobs: int) -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(PREFILL_SQL, {"jobs": jobs})
            # Only the filled table, as for ours: bare_results is analysed by nobody, too.
            conn.execute("analyze bare_jobs")

    def client(self, url: str, index: int) -> BareClient:
        return BareClient(url)

    def count_finished(self, url: str) -> int:
        with psycopg.connect(url) as conn:
            row = conn.execute(FINISHED_SQL).fetchone()
        return int(row[0]) if row else 0


SYSTEM = Bare()
