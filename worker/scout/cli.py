"""`dbolt directories scout URL [--out DIR]`: print the scout's report as JSON.

Exit status: 0 scouted, 1 the page could not be loaded, 2 refused (a destination the worker
may not reach: a private address, a file: URL, a redirect to the metadata endpoint...).
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from worker.scout.run import ScoutFailed, ScoutRefused, scout_sync
from worker.scout.settings import ScoutSettings


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
