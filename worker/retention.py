"""Deletes screenshots and page HTML older than ARTIFACTS_RETENTION_DAYS.

They hold customer data (the business's details as typed into directory forms), so they are
kept only as long as staff need them to look into an attempt. The workers run this: they own
ARTIFACTS_DIR (they write it; the portal only reads it and may mount it read-only), and at
least one worker always runs (autoscale_min_workers). Several workers sweeping the same
folder is harmless: a file another sweeper removed first is simply skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from pathlib import Path

log = logging.getLogger(__name__)
DAY_SECONDS = 86_400


def sweep(root: Path, retention_days: int, now: float | None = None) -> int:
    """Delete files under `root` last modified more than `retention_days` ago, and the
    folders that leaves empty (never `root`). Returns how many files went. Symlinks are
    removed as links, never followed."""
    if not root.is_dir():
        return 0
    cutoff = (time.time() if now is None else now) - retention_days * DAY_SECONDS
    deleted = 0
    for folder, dirs, files in os.walk(root, topdown=False):
        for name in files:
            path = Path(folder, name)
            with contextlib.suppress(FileNotFoundError):
                if path.lstat().st_mtime < cutoff:
                    path.unlink()
                    deleted += 1
        for name in dirs:
            # Only an empty folder goes; one a worker is writing into right now stays.
            with contextlib.suppress(OSError):
                Path(folder, name).rmdir()
    return deleted


async def retention_loop(
    root: Path, retention_days: int, interval_seconds: float, stop: asyncio.Event
) -> None:
    """Sweep now and every `interval_seconds` until `stop` is set.

    A background loop: an error is logged and the next sweep runs anyway."""
    while not stop.is_set():
        try:
            deleted = await asyncio.to_thread(sweep, root, retention_days)
            if deleted:
                log.info(
                    "old artifacts deleted",
                    extra={"action": "artifacts.swept", "deleted": deleted},
                )
        except Exception as error:  # the loop must outlive one bad sweep
            log.warning(
                "artifact sweep failed",
                extra={"action": "artifacts.sweep_failed", "error": str(error)[:200]},
            )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval_seconds)
