"""Podman from tests: the project's containers.conf (this VM needs it), the image names and
tags `make images` produces, and building them through the same script it runs."""

from __future__ import annotations

import subprocess
from pathlib import Path

from deploy import release_images, repo
from deploy.podman import environment

ROOT = Path(__file__).resolve().parents[2]
IMAGES_DIR = ROOT / "deploy" / "images"
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


def image_tag() -> str:
    """The tag `make images` gives this checkout's images: the commit."""
    return repo.image_tag(ROOT)


def image(name: str, tag: str | None = None) -> str:
    """localhost/directorybolt/<name>:<tag> (name: services | worker | db)."""
    return release_images.local_ref(name, tag or image_tag())


def build_images() -> str:
    """Build (or, when cached, just tag) both app images exactly as `make images` does;
    returns the tag."""
    # Not cold even if the caller measured a cold build: after `make images` this is a no-op.
    env = {k: v for k, v in environment().items() if k != "IMAGES_NO_CACHE"}
    subprocess.run([str(IMAGES_DIR / "build.sh")], cwd=ROOT, env=env, check=True, timeout=1800)
    return image_tag()
