"""The installable wheel holds the product and its data files, never devstack's stand-ins.

setuptools' build_py lays out exactly the packages and package data a wheel gets, from a copy
of the checkout (so no build/ or *.egg-info lands in the worktree), without bdist_wheel or an
isolated build environment (which would fetch setuptools from the network).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = {"dbolt", "orchestrator", "worker", "webhook", "portal"}
IMPORTS_DEVSTACK = re.compile(r"^\s*(from|import)\s+devstack\b", re.MULTILINE)


def build_lib(tmp_path: Path) -> Path:
    source = tmp_path / "source"
    source.mkdir()
    shutil.copy2(ROOT / "pyproject.toml", source)
    for package in [*PRODUCT, "devstack"]:
        shutil.copytree(
            ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    lib = tmp_path / "lib"
    setup = "from setuptools import setup; setup()"
    subprocess.run(
        [sys.executable, "-W", "ignore", "-c", setup, "-q", "build_py", "--build-lib", str(lib)],
        cwd=source,
        check=True,
        capture_output=True,
        timeout=120,
    )
    return lib


def test_the_wheel_holds_the_product_packages_and_their_data_but_not_devstack(
    tmp_path: Path,
) -> None:
    lib = build_lib(tmp_path)
    assert {path.name for path in lib.iterdir()} == PRODUCT
    assert sorted(path.name for path in (lib / "dbolt" / "queries").glob("*.sql"))
    assert (lib / "dbolt" / "directories.schema.json").is_file()
    assert (lib / "dbolt" / "countries.json").is_file()
    assert list((lib / "portal" / "templates").rglob("*.html"))
    importers = [
        str(path.relative_to(lib))
        for path in lib.rglob("*.py")
        if IMPORTS_DEVSTACK.search(path.read_text())
    ]
    assert importers == []
