"""What the cluster runs now: each Deployment's image tag and recorded previous tag.

Read-only (`kubectl get`), so it is done before the plan is confirmed. Every kubectl call
names the context explicitly: the operator's current context is whatever they last used.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass

from deploy.release_images import tag_of

NAMESPACE = "directorybolt"
DEPLOYMENTS = ("orchestrator", "webhook", "portal", "worker")
# Written on each Deployment by every deploy: the tag it ran before, for `make rollback`.
PREVIOUS_TAG = "directorybolt.com/previous-tag"
ROLLOUT_TIMEOUT = "300s"


def kubectl(context: str, *args: str, namespaced: bool = True) -> tuple[str, ...]:
    # `apply -k` is not namespaced here: the manifests carry their own namespace.
    scope = ("--namespace", NAMESPACE) if namespaced else ()
    return ("kubectl", "--context", context, *scope, *args)


@dataclass(frozen=True)
class Container:
    name: str
    image: str


@dataclass(frozen=True)
class Running:
    deployment: str
    containers: tuple[Container, ...]
    previous_tag: str | None

    @property
    def tag(self) -> str | None:
        tags = {tag_of(c.image) for c in self.containers} - {None}
        return tags.pop() if len(tags) == 1 else None


def read(context: str) -> dict[str, Running]:
    """Our Deployments that exist (a first deploy finds none)."""
    result = subprocess.run(
        kubectl(context, "get", "deployment", *DEPLOYMENTS, "--ignore-not-found", "-o", "json"),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"kubectl get deployment failed: {result.stderr.strip()}")
    if not result.stdout.strip():
        return {}
    document = json.loads(result.stdout)
    items = document.get("items", [document] if document.get("kind") == "Deployment" else [])
    running: dict[str, Running] = {}
    for item in items:
        name = item["metadata"]["name"]
        annotations = item["metadata"].get("annotations") or {}
        containers = tuple(
            Container(c["name"], c["image"]) for c in item["spec"]["template"]["spec"]["containers"]
        )
        running[name] = Running(name, containers, annotations.get(PREVIOUS_TAG))
    return running


def rollout_status(context: str, deployment: str) -> tuple[str, ...]:
    return kubectl(
        context, "rollout", "status", f"deployment/{deployment}", f"--timeout={ROLLOUT_TIMEOUT}"
    )
