"""The two images a release consists of, as built locally and as pushed to a registry.

Shared convention (make images): `localhost/directorybolt/services:<tag>` (orchestrator,
webhook, portal) and `localhost/directorybolt/worker:<tag>`; in a registry
`$IMAGE_REGISTRY/directorybolt/<name>:<tag>`. The manifests name them `directorybolt/<name>`
and each deploy sets registry and tag through kustomize's `images:`.
"""

from __future__ import annotations

from deploy.podman import podman

NAMES = ("services", "worker")
LOCAL_PREFIX = "localhost"


def manifest_name(name: str) -> str:
    return f"directorybolt/{name}"


def local_ref(name: str, tag: str) -> str:
    return f"{LOCAL_PREFIX}/{manifest_name(name)}:{tag}"


def registry_repo(registry: str, name: str) -> str:
    return f"{registry.rstrip('/')}/{manifest_name(name)}"


def missing_locally(tag: str) -> list[str]:
    """Images of this tag that `podman image exists` does not find (build them: make images)."""
    return [
        local_ref(name, tag)
        for name in NAMES
        if podman("image", "exists", local_ref(name, tag), check=False).returncode != 0
    ]


def tag_of(image: str) -> str | None:
    """The tag of `…/directorybolt/<name>:<tag>`, or None if it is not one of ours."""
    repo, _, tag = image.rpartition(":")
    if not tag or "/" in tag:
        return None
    if not any(
        repo.endswith(f"/{manifest_name(name)}") or repo == manifest_name(name) for name in NAMES
    ):
        return None
    return tag
