"""bench/queue at a tiny size, so the harness cannot rot: every system drains its queue with
two clients, the tables are printed, the writes per cycle are read from the run's own
database (ours writes at least an attempt row and an audit row per report), and the
backend-CPU comparison runs its variants."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.queue import __main__ as bench_queue
from bench.queue import backend_cpu
from bench.queue.harness import run_one


def test_every_system_drains_and_the_tables_print(tmp_path: Path) -> None:
    output = tmp_path / "queue.md"
    bench_queue.main(["--jobs", "6", "--clients", "2", "--repeat", "1", "--output", str(output)])
    text = output.read_text()
    for heading in (
        "ours/bare",
        "ours/bare+writes",
        "peak RSS",
        "rows written",
        "WAL bytes",
        "of which HOT",
    ):
        assert heading in text


def test_writes_per_cycle_count_what_a_cycle_writes() -> None:
    result = run_one("ours", 4, 1)
    tables = result.writes.tables
    # Five reports per cycle: five attempt rows, five directory updates, and an audit row
    # for the claim, each report and the completion.
    assert tables["public.job_results"].inserted == 5
    assert tables["public.job_directories"].updated == 5
    assert tables["public.audit_log"].inserted >= 7
    assert result.writes.wal_bytes > 0
    bare = run_one("bare", 4, 1).writes
    assert bare.tables["public.bare_results"].inserted == 5
    assert bare.tables["public.bare_jobs"].updated == 2
    # The bare loop writing our rows: ours' per-table counts for a cycle, table by table.
    writes = run_one("bare_writes", 4, 1).writes.tables
    expected = {
        "bw_audit": (8, 0), "bw_messages": (7, 0), "bw_results": (5, 0),
        "bw_notifications": (2, 0), "bw_leases": (1, 0), "bw_reports": (1, 0),
        "bw_refunds": (1, 0), "bw_directories": (0, 5), "bw_jobs": (0, 2),
        "bw_workers": (0, 2), "bw_tiers": (0, 2),
    }  # fmt: skip
    for table, (inserted, updated) in expected.items():
        assert (writes[f"public.{table}"].inserted, writes[f"public.{table}"].updated) == (
            inserted,
            updated,
        ), table
    # Attempts' rollups (8 and the minute's per report), completions' rollups.
    assert writes["public.bw_rollups"].updated == 9 * 5 + 4
    assert writes["public.bw_counters"].updated == 5


def test_backend_cpu_compares_variants(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # A variant that changes nothing the cycle does, so only the harness is under test.
    variant = tmp_path / "noop.sql"
    variant.write_text("select 1;")
    backend_cpu.main(["base=", f"noop={variant}", "--jobs", "2", "--rounds", "1"])
    printed = capsys.readouterr().out
    assert "base         median backend CPU" in printed
    assert "noop         median backend CPU" in printed
