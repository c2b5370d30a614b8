"""The repository explains itself: no tracked file points at notes kept outside it.

A clone is all a newcomer, CI or a reviewer gets, so a reference to a design file or a notes
folder beside the checkout is a dead link for every one of them. The facts such notes held
belong in docs/ (docs/architecture.md, docs/decisions/).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Spelt in two pieces so this file does not match its own patterns.
OUTSIDE_REFERENCES = ("../" + "shared", "DESIGN" + ".md")


def _tracked_files() -> list[Path]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout (e.g. an installed image): nothing tracked to check")
    listing = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "-z"],
        check=True,
        capture_output=True,
    ).stdout
    return [ROOT / name for name in listing.decode().split("\0") if name]


def _text(path: Path) -> str | None:
    try:
        data = path.read_bytes()
    except (FileNotFoundError, IsADirectoryError):
        return None  # deleted in the working tree but not yet from the index
    if b"\0" in data:
        return None  # binary
    return data.decode("utf-8", errors="replace")


def test_no_tracked_file_points_outside_the_repository() -> None:
    offenders: list[str] = []
    for path in _tracked_files():
        text = _text(path)
        if text is None:
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            for reference in OUTSIDE_REFERENCES:
                if reference in line:
                    offenders.append(f"{path.relative_to(ROOT)}:{number}: {reference}")
    assert not offenders, (
        "these lines point outside the repository; put what they need in docs/ instead:\n"
        + "\n".join(offenders)
    )
