"""`make bench-worker` at its smallest, so it cannot rot: one business to one sandbox site on
every side (the worker, the worker before its browser savings, the bare loop), every run
verified clean by the benchmark itself, and the report's browser table names each side.
No number is asserted: on a shared machine speed is not a property of the code."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.worker.stack import ROOT

pytestmark = pytest.mark.slow


def test_the_worker_benchmark_runs_every_side_at_a_tiny_size(tmp_path: Path) -> None:
    output = tmp_path / "worker.md"
    arguments = ["--submissions", "1", "--rounds", "1", "--contexts", "1", "--sites", "plain"]
    done = subprocess.run(
        [sys.executable, "-m", "bench.worker", *arguments, "--output", str(output)],
        cwd=ROOT,
        env=os.environ | {"PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = output.read_text()
    assert "## The browser's cost" in report
    for side in ("worker", "before", "bare"):
        assert f"| 1 | {side} |" in report
    assert "before ÷ worker" in report
