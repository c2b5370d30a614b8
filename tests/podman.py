"""Podman from tests: the project's containers.conf (this VM needs it), the image names and
tags `make images` produces, and building them through the same script it runs."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IMAGES_DIR = ROOT / "deploy" / "images"
CONTAINERS_CONF = IMAGES_DIR / "containers.conf"
CONTAINERFILE = IMAGES_DIR / "Containerfile"

# What every app container is run with in the tests, as Kubernetes runs it: read-only root,
# non-root, no capabilities, no privilege gain, and a writable /tmp (HOME) like an emptyDir.
HARDENED = (
    "--read-only",
    "--user",
    "10001:10001",
    "--cap-drop",
    "ALL",
    "--security-opt",
    "no-new-privileges",
    "--tmpfs",
    "/tmp",  # noqa: S108 — the container's own /tmp, a fresh tmpfs
)
ARTIFACTS_DIR = "/var/lib/directorybolt/artifacts"
# The worker's screenshots (ARTIFACTS_DIR): a tmpfs owned by the container's user (`U`), as an
# emptyDir with fsGroup 10001 is in Kubernetes; a plain --tmpfs there is root's and refuses.
ARTIFACTS_TMPFS = ("--tmpfs", f"{ARTIFACTS_DIR}:rw,U")


def environment() -> dict[str, str]:
    """This process's environment with podman pointed at the project's settings."""
    return {
        **os.environ,
        "CONTAINERS_CONF": os.environ.get("CONTAINERS_CONF", str(CONTAINERS_CONF)),
    }


def podman(
    *args: str, check: bool = True, timeout: float = 120
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
        raise RuntimeError(f"podman {' '.join(args)} failed ({result.returncode}): {result.stderr}")
    return result


def image_tag() -> str:
    """The tag `make images` gives this checkout's images: the commit."""
    return subprocess.run(
        ["git", "rev-parse", "--short=12", "HEAD"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def image(name: str, tag: str | None = None) -> str:
    """localhost/directorybolt/<name>:<tag> (name: services | worker | db)."""
    return f"localhost/directorybolt/{name}:{tag or image_tag()}"


def build_images() -> str:
    """Build (or, when cached, just tag) both app images exactly as `make images` does;
    returns the tag."""
    # Not cold even if the caller measured a cold build: after `make images` this is a no-op.
    env = {k: v for k, v in environment().items() if k != "IMAGES_NO_CACHE"}
    subprocess.run([str(IMAGES_DIR / "build.sh")], cwd=ROOT, env=env, check=True, timeout=1800)
    return image_tag()
