"""`make bench-orchestrator` at a tiny size, so the benchmark cannot rot between the runs
that measure with it. Nothing here is timed: it checks the runs complete, are verified
(a lost or doubled job makes the benchmark refuse to report) and land in the Markdown."""

from __future__ import annotations

from pathlib import Path

from bench.orchestrator.__main__ import main
from bench.orchestrator.server import ROOT


def test_the_benchmark_drains_every_path_at_each_worker_count(
    cluster: None, tmp_path: Path
) -> None:
    output = tmp_path / "orchestrator.md"
    # This checkout as its own baseline: the --baseline path (another venv's interpreter,
    # another cwd) is exercised without a second worktree.
    main(
        [
            *("--jobs", "3", "--directories", "1", "--workers", "1,2", "--rounds", "1"),
            *("--pool-size", "2"),
            *("--baseline", str(ROOT), "--output", str(output)),
        ]
    )

    _, *sections = output.read_text().split("\n## ")
    assert [section.splitlines()[0] for section in sections] == ["1 worker", "2 workers", "Memory"]
    for section in sections[:2]:
        for row in (
            "| HTTP |",
            "| HTTP baseline |",
            "| direct SQL |",
            "| **HTTP / HTTP baseline**",
        ):
            assert row in section
    assert (tmp_path / "orchestrator-server.log").exists()


def test_the_benchmark_also_drives_the_worker_client_on_httpx(
    cluster: None, tmp_path: Path
) -> None:
    output = tmp_path / "orchestrator.md"
    main(
        [
            *("--jobs", "2", "--directories", "1", "--workers", "2", "--rounds", "1"),
            *("--pool-size", "2", "--http-client", "own", "--output", str(output)),
        ]
    )
    text = output.read_text()
    assert "| HTTP |" in text
    assert "| direct SQL |" in text
    assert "2 httpx clients" in text
