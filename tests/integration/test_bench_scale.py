"""bench/scale at a tiny size, so the harness cannot rot: the seed writes rows the schema
accepts and the real functions would have left (every foreign key holds, though the seed
runs with the triggers off), and every measured call runs on both databases."""

from __future__ import annotations

import psycopg

from bench.scale import __main__ as bench_scale
from bench.scale import calls, seed

# Rows the seed wrote that break a foreign key (it checks none of them itself).
ORPHANS_SQL = """
select (select count(*) from job_results r
         where not exists (select 1 from job_directories d
                            where d.job_id = r.job_id and d.directory_id = r.directory_id))
     + (select count(*) from job_directories d
         where not exists (select 1 from jobs j where j.id = d.job_id))
     + (select count(*) from jobs j
         where not exists (select 1 from orders o where o.id = j.order_id))
     + (select count(*) from jobs j
         where not exists (select 1 from customers c where c.id = j.customer_id))
     + (select count(*) from job_reports r
         where not exists (select 1 from jobs j where j.id = r.job_id))
"""


# One attempt row and one audit row per try a directory records.
SHAPE_SQL = """
select (select sum(attempts) from job_directories),
       (select count(*) from job_results),
       (select count(*) from audit_log where action = 'directory.attempt_reported')
"""


def test_seed_is_consistent(db_url: str) -> None:
    seeded = seed.seed(db_url, 30)
    assert seeded.counts["jobs"] == 31  # and the viewer's pending template job
    with psycopg.connect(db_url) as conn:
        assert conn.execute(ORPHANS_SQL).fetchone() == (0,)
        tries, results, audited = conn.execute(SHAPE_SQL).fetchone() or ()
        assert tries == results == audited > 0


def test_every_call_runs_on_both_databases() -> None:
    text, medians = bench_scale.run(scale=seed.YEAR_JOBS // 5, repeat=1, prefix="test_bench_scale")
    assert set(medians) == {"jobs_next", "jobs_report_attempt", *calls.READS}
    for name in medians:
        assert f"| {name} |" in text
