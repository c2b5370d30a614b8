"""`python -m worker submit`: one directory entry by hand, from the worker's own entry point
(dbolt, the shared library, does not reach into the worker for it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def worker(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "worker", *args],
        cwd=ROOT,
        env={**os.environ, "ENVIRONMENT": "development"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_submit_names_an_unknown_directory_before_starting_a_browser(tmp_path: Path) -> None:
    business = tmp_path / "business.json"
    business.write_text(json.dumps({"business_name": "Acme Plumbing"}))
    result = worker("submit", "--entry", "no-such-directory", "--business", str(business))
    assert result.returncode == 1
    assert "no directory 'no-such-directory' in directories.json" in result.stderr


def test_submit_requires_an_entry_and_a_business() -> None:
    result = worker("submit")
    assert result.returncode == 2
    assert "--entry" in result.stderr
    assert "--business" in result.stderr


def test_an_unknown_command_is_refused_rather_than_running_the_worker() -> None:
    result = worker("sumbit")
    assert result.returncode == 2
    assert "invalid choice: 'sumbit'" in result.stderr
