"""supabase/tests (pgTAP) with pg_prove against a database in the image's server, migrated the
way devstack.localdb migrates the local one (bootstrap, `supabase db push --include-seed`,
directories sync) — what `make test-sql` does against the local cluster."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from devstack import localdb
from tests.containers.plugin import DatabaseContainer, image_marker

pytestmark = pytest.mark.containers

PGTAP_DIR = Path(__file__).resolve().parents[2] / "supabase" / "tests"


def test_pgtap_suite_passes_in_the_database_image(
    database_container: DatabaseContainer, capsys: pytest.CaptureFixture[str]
) -> None:
    url = localdb.fresh("dbolt_pgtap")
    assert image_marker(url) == database_container.image
    files = sorted(str(path) for path in PGTAP_DIR.glob("*.sql"))
    assert files, f"no pgTAP files in {PGTAP_DIR}"
    server = ["-h", "127.0.0.1", "-p", str(database_container.port), "-U", "postgres"]
    result = subprocess.run(
        ["pg_prove", "--failures", *server, "-d", "dbolt_pgtap", *files],
        env={**os.environ, "PGPASSWORD": "postgres"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    summary = re.search(r"^Files=(\d+), Tests=(\d+)", result.stdout, re.MULTILINE)
    assert summary is not None, result.stdout
    assert int(summary.group(1)) == len(files)
    with capsys.disabled():
        print(f"\npgTAP in {database_container.image}: {summary.group(0)}")
