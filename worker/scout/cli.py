"""`python -m worker scout URL [--out DIR]` (what `dbolt directories scout` runs): the scout's
report as JSON. Exit status: 0 scouted, 1 the page could not be loaded, 2 refused (a
destination the worker may not reach: a private address, a file: URL, a redirect to the
metadata endpoint...).

`python -m worker signatures --base-url URL --dir DIR [--write --site ID=PATH ...]`: the
stored signatures against the live pages (devstack/sandbox/signatures.py runs it), printing
`{"errors": [...]}`; exit 1 when there are any.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from worker.scout.run import ScoutFailed, ScoutRefused, scout_sync
from worker.scout.settings import ScoutSettings
from worker.scout.signature_check import check_signatures, write_signatures


def run(url: str, out: Path | None) -> int:
    settings = ScoutSettings()
    out_dir = out or Path(tempfile.mkdtemp(prefix="dbolt-scout-"))
    try:
        report = scout_sync(url, out_dir, settings)
    except ScoutRefused as refused:
        print(f"error: {refused}", file=sys.stderr)
        return 2
    except ScoutFailed as failed:
        print(f"error: {failed}", file=sys.stderr)
        return 1
    print(json.dumps(report, indent=2, sort_keys=True, ensure_ascii=False))
    return 0


def add_scout_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("url", help="the page to scout (http or https, a public address)")
    parser.add_argument("--out", type=Path, default=None, help="screenshots (default: a temp dir)")


def run_scout_arguments(args: argparse.Namespace) -> int:
    return run(args.url, args.out)


def add_signature_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--base-url", required=True, help="where the url_paths are served")
    parser.add_argument("--dir", type=Path, required=True, help="the stored <id>.json files")
    parser.add_argument("--write", action="store_true", help="record instead of checking")
    parser.add_argument("--site", action="append", default=[], help="ID=PATH (with --write)")


def run_signature_arguments(args: argparse.Namespace) -> int:
    if args.write:
        paths = dict(site.split("=", 1) for site in args.site)
        written = write_signatures(args.base_url, paths, args.dir)
        print(json.dumps({"written": [str(path) for path in written]}))
        return 0
    errors = check_signatures(args.base_url, args.dir)
    print(json.dumps({"errors": errors}, ensure_ascii=False))
    return 1 if errors else 0
