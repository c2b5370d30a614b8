"""Artifacts (screenshots and page HTML: customer data) are deleted after
ARTIFACTS_RETENTION_DAYS by the workers' background sweep (worker/retention.py)."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

import pytest

from worker import retention
from worker.settings import WorkerSettings


def _write(path: Path, age_days: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"customer data")
    stamp = time.time() - age_days * 86_400
    os.utime(path, (stamp, stamp))
    return path


def test_artifacts_past_retention_are_deleted_and_newer_ones_kept(tmp_path: Path) -> None:
    root = tmp_path / "artifacts"
    old_job = [_write(root / "job-a" / f"dir-{n}-1.png", 31) for n in range(3)]
    mixed_old = _write(root / "job-b" / "dir-1-1.html", 45)
    mixed_new = _write(root / "job-b" / "dir-1-2.html", 29)
    fresh = _write(root / "job-c" / "dir-1-1.png", 0)
    outside = _write(tmp_path / "elsewhere" / "keep.txt", 400)
    (root / "job-b" / "link-out").symlink_to(outside)
    os.utime(root / "job-b" / "link-out", (0, 0), follow_symlinks=False)

    assert retention.sweep(root, 30) == 5  # 3 + 1 + the old link itself
    assert not any(path.exists() for path in old_job)
    assert not (root / "job-a").exists()  # the emptied job folder went too
    assert not mixed_old.exists()
    assert mixed_new.exists()
    assert fresh.exists()
    assert outside.exists()  # a link is removed as a link, never followed
    assert root.is_dir()


def test_a_missing_artifacts_folder_is_not_an_error(tmp_path: Path) -> None:
    assert retention.sweep(tmp_path / "never-created", 30) == 0


def test_retention_defaults_to_30_days_and_is_configurable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert WorkerSettings().artifacts_retention_days == 30
    monkeypatch.setenv("ARTIFACTS_RETENTION_DAYS", "7")
    assert WorkerSettings().artifacts_retention_days == 7
    monkeypatch.setenv("ARTIFACTS_RETENTION_DAYS", "0")
    with pytest.raises(ValueError, match="artifacts_retention_days"):
        WorkerSettings()


@pytest.fixture
def walk_fails_once(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The file system fails the first sweep (e.g. a stale network volume), then recovers."""
    calls = [0]
    real_walk = os.walk

    def flaky_walk(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        if calls[0] == 1:
            raise OSError(116, "Stale file handle")
        return real_walk(*args, **kwargs)

    monkeypatch.setattr(os, "walk", flaky_walk)
    return calls


def test_the_retention_loop_survives_a_failed_sweep(
    tmp_path: Path, walk_fails_once: list[int], caplog: pytest.LogCaptureFixture
) -> None:
    root = tmp_path / "artifacts"
    old = _write(root / "job" / "dir-1.png", 60)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.create_task(retention.retention_loop(root, 30, 0.05, stop))
        for _ in range(600):  # polls the file system: no event says a file went
            if not old.exists() or loop.done():
                break
            await asyncio.sleep(0.05)
        stop.set()
        await asyncio.wait_for(loop, 5)

    asyncio.run(run())
    assert walk_fails_once[0] >= 2
    assert not old.exists()
    assert any(r.__dict__.get("action") == "artifacts.sweep_failed" for r in caplog.records)
