"""The checkout being deployed: its commit (the image tag) and whether it is clean.

Images are tagged with the commit they were built from, so a deploy of a tree with
uncommitted changes ships a tag that does not describe what runs.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


def _git(cwd: Path, *args: str) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed in {cwd}: {result.stderr.strip()}")
    return result.stdout.strip()


def image_tag(cwd: Path) -> str:
    """The shared convention for image tags: `git rev-parse --short=12 HEAD`."""
    return _git(cwd, "rev-parse", "--short=12", "HEAD")


def dirty_paths(cwd: Path) -> list[str]:
    """Uncommitted changes to tracked files, and untracked files that are not ignored."""
    return [line[3:] for line in _git(cwd, "status", "--porcelain").splitlines() if line]


def supabase_cli(cwd: Path) -> str:
    """The project's pinned CLI (npm, node_modules/.bin), else whatever `supabase` is on PATH."""
    pinned = cwd / "node_modules" / ".bin" / "supabase"
    if pinned.exists():
        return str(pinned)
    return shutil.which("supabase") or "supabase"
