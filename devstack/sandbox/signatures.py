"""The sandbox sites' expected form signatures (directories/signatures/<id>.json) and the check
that the live sandbox still matches them — for `make directories-check`, so a change to a
sandbox form that nobody meant fails the check, naming the site and what changed.

    python -m devstack.sandbox.signatures          # check; exit 1 listing the differences
    python -m devstack.sandbox.signatures --write  # record them after a deliberate change

The sandbox runs here (in a thread); the scouting is the worker's, run as a process
(`python -m worker signatures`), as devstack runs every service. Each file holds
{"id", "url_path", "digest", "signature"}; the digest is dbolt.form_signatures'.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from dbolt.form_signatures import signatures_dir
from dbolt.words import count_of
from devstack.sandbox import catalog
from devstack.sandbox.lifecycle_state import LIFECYCLE_SITES
from devstack.sandbox.server import SandboxServer
from devstack.sandbox.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
SIGNATURES_DIR = signatures_dir(ROOT / "directories.json")
# The slow site answers its form after 45 s on purpose: past any scout's patience.
NOT_SCOUTED = catalog.NOT_SERVED | {"slow"}


@dataclass(frozen=True)
class ScoutedSite:
    id: str
    url_path: str


def scouted_sites() -> list[ScoutedSite]:
    """Every sandbox site's submit page that answers (an error page too: it is recorded)."""
    sites = [
        ScoutedSite(f"sandbox-{site.name}", f"/{site.name}/submit")
        for site in catalog.SITES
        if site.name not in NOT_SCOUTED
    ]
    sites += [ScoutedSite(site.name, f"/{site.name}/submit") for site in LIFECYCLE_SITES]
    return sites


def signature_file(site_id: str, directory: Path = SIGNATURES_DIR) -> Path:
    return directory / f"{site_id}.json"


@contextmanager
def _sandbox(base_url: str | None) -> Iterator[str]:
    if base_url is not None:
        yield base_url.rstrip("/")
        return
    with SandboxServer(Settings()) as server:
        yield server.url


def _worker(base_url: str, arguments: list[str]) -> subprocess.CompletedProcess[str]:
    # The sandbox is on loopback: let the scout reach exactly it, as development does.
    env = os.environ | {"WORKER_ALLOWED_PRIVATE_HOSTS": base_url.split("://", 1)[1]}
    command = [sys.executable, "-m", "worker", "signatures", "--base-url", base_url, *arguments]
    return subprocess.run(command, env=env, capture_output=True, text=True, check=False, cwd=ROOT)


def write_sandbox_signatures(
    base_url: str | None = None, directory: Path = SIGNATURES_DIR
) -> list[str]:
    sites = [f"--site={site.id}={site.url_path}" for site in scouted_sites()]
    with _sandbox(base_url) as url:
        done = _worker(url, ["--dir", str(directory), "--write", *sites])
    if done.returncode != 0:
        raise RuntimeError(f"python -m worker signatures --write failed:\n{done.stderr}")
    written: list[str] = json.loads(done.stdout)["written"]
    return written


def check_sandbox_signatures(
    base_url: str | None = None, directory: Path = SIGNATURES_DIR
) -> list[str]:
    """Every difference between the stored signatures and the live sandbox (empty: none).
    Starts a sandbox of its own unless `base_url` names a running one."""
    expected = {site.id for site in scouted_sites()}
    errors = [
        f"{site_id}: no stored signature ({signature_file(site_id, directory).name}; "
        "python -m devstack.sandbox.signatures --write)"
        for site_id in sorted(expected)
        if not signature_file(site_id, directory).exists()
    ]
    errors += [
        f"{path.stem}: a stored signature of no sandbox site"
        for path in sorted(directory.glob("*.json"))
        if path.stem not in expected
    ]
    with _sandbox(base_url) as url:
        done = _worker(url, ["--dir", str(directory)])
    try:
        found: list[str] = json.loads(done.stdout)["errors"]
    except (ValueError, KeyError):
        found = [f"python -m worker signatures failed: {done.stderr.strip()[-2000:]}"]
    return errors + found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.sandbox.signatures")
    parser.add_argument("--write", action="store_true", help="record the live signatures")
    parser.add_argument("--base-url", help="a running sandbox (default: one started here)")
    args = parser.parse_args(argv)
    if args.write:
        written = write_sandbox_signatures(args.base_url)
        print(f"wrote {count_of(len(written), 'signature')} to {SIGNATURES_DIR.relative_to(ROOT)}")
        return 0
    errors = check_sandbox_signatures(args.base_url)
    for error in errors:
        print(error, file=sys.stderr)
    if not errors:
        print(f"{count_of(len(scouted_sites()), 'sandbox signature')}: as the live sandbox")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
