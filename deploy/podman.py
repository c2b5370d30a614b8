"""podman as this project runs it: with the project's containers.conf (the settings this VM
needs, deploy/images/containers.conf) unless CONTAINERS_CONF names another. One runner for
the deploy targets, the rehearsal and the tests."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

CONTAINERS_CONF = Path(__file__).resolve().parent / "images" / "containers.conf"


def environment() -> dict[str, str]:
    """This process's environment with podman pointed at the project's settings."""
    return os.environ | {"CONTAINERS_CONF": os.environ.get("CONTAINERS_CONF", str(CONTAINERS_CONF))}


def podman(
    *args: str, check: bool = True, timeout: float | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `podman <args>`, capturing text output; raises with podman's stderr on failure."""
    result = subprocess.run(
        ["podman", *args],
        env=environment(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and result.returncode != 0:
        raise RuntimeError(
            f"podman {' '.join(args)} failed ({result.returncode}): {result.stderr.strip()}"
        )
    return result
