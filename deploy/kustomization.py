"""The kustomization one deploy applies: the chosen overlay, this release's images, and the
tag each Deployment ran before.

Generated into a temporary directory per deploy and never committed: registry and tag are
facts of this deploy, not of the repository. It only points at the committed overlay, so
what is applied is the reviewed manifests plus two image fields and one annotation.

The previous tag is written as an annotation in the same apply as the new images, not after
the rollout: a rollout that never becomes ready is exactly when `make rollback` needs it.
JSON is valid YAML, so the file is written with the json module.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from deploy import release_images
from deploy.cluster import PREVIOUS_TAG


def write(overlay: Path, registry: str, tag: str, previous_tags: Mapping[str, str]) -> Path:
    """A new directory holding kustomization.yaml; the caller removes it."""
    directory = Path(tempfile.mkdtemp(prefix="directorybolt-deploy-"))
    document: dict[str, object] = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        # Kustomize refuses an absolute path to a kustomization; relative from /tmp is fine.
        "resources": [os.path.relpath(overlay.resolve(), directory)],
        "images": [
            {
                "name": release_images.manifest_name(name),
                "newName": release_images.registry_repo(registry, name),
                "newTag": tag,
            }
            for name in release_images.NAMES
        ],
    }
    patches = [
        {
            "target": {"kind": "Deployment", "name": deployment},
            "patch": json.dumps(
                {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "metadata": {"name": deployment, "annotations": {PREVIOUS_TAG: previous}},
                }
            ),
        }
        for deployment, previous in sorted(previous_tags.items())
    ]
    if patches:
        document["patches"] = patches
    (directory / "kustomization.yaml").write_text(json.dumps(document, indent=2) + "\n")
    return directory
