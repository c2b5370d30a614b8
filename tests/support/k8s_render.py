"""Render deploy/k8s overlays with `kubectl kustomize` and read what each container gets.

Also a small CLI for `make test-deploy`: it writes an overlay's core resources (for
kubernetes-validate) and its ScaledObject (for our own schema) to separate files, because
kubernetes-validate has no schema for KEDA's kinds and would only warn about them.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]  # PyYAML arrives with schemathesis (dev)

K8S_DIR = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
OVERLAYS = ("staging", "production", "local")
KEDA_API_GROUP = "keda.sh/"

Resource = dict[str, Any]


def render(overlay: str | Path) -> list[Resource]:
    """Every resource the overlay renders to. Fails (never skips) without kubectl."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        raise RuntimeError("kubectl is not installed: run `make deps`")
    path = overlay if isinstance(overlay, Path) else K8S_DIR / "overlays" / overlay
    out = subprocess.run(
        [kubectl, "kustomize", str(path)], check=True, capture_output=True, text=True
    ).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def find(resources: list[Resource], kind: str, name: str) -> Resource:
    matches = [r for r in resources if r["kind"] == kind and r["metadata"]["name"] == name]
    if len(matches) != 1:
        raise LookupError(f"{len(matches)} {kind}/{name} in the rendered overlay")
    return matches[0]


def of_kind(resources: list[Resource], kind: str) -> list[Resource]:
    return [r for r in resources if r["kind"] == kind]


@dataclass(frozen=True)
class ContainerEnv:
    """What one container's environment is made of, as the manifests say it."""

    values: dict[str, str]  # ConfigMap data (envFrom) and literal env values
    secret_keys: dict[str, tuple[str, str]]  # variable -> (Secret name, key)

    @property
    def names(self) -> set[str]:
        return set(self.values) | set(self.secret_keys)


def container_env(resources: list[Resource], container: Resource) -> ContainerEnv:
    values: dict[str, str] = {}
    secret_keys: dict[str, tuple[str, str]] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            values.update(find(resources, "ConfigMap", source["configMapRef"]["name"])["data"])
        else:
            raise AssertionError(f"unexpected envFrom {source}: secrets are listed key by key")
    for entry in container.get("env", []):
        if "value" in entry:
            values[entry["name"]] = entry["value"]
        elif "secretKeyRef" in entry["valueFrom"]:
            ref = entry["valueFrom"]["secretKeyRef"]
            secret_keys[entry["name"]] = (ref["name"], ref["key"])
        else:
            raise AssertionError(f"unexpected env source {entry}")
    return ContainerEnv(values, secret_keys)


def containers(deployment: Resource) -> list[Resource]:
    spec = deployment["spec"]["template"]["spec"]
    return list(spec.get("initContainers", [])) + list(spec["containers"])


def write_for_validation(overlay: str, out_dir: Path) -> None:
    resources = render(overlay)
    core = [r for r in resources if not r["apiVersion"].startswith(KEDA_API_GROUP)]
    keda = [r for r in resources if r["apiVersion"].startswith(KEDA_API_GROUP)]
    if [r["kind"] for r in keda] != ["ScaledObject"]:
        raise SystemExit(f"{overlay}: expected exactly one KEDA object, the ScaledObject")
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{overlay}.yaml").write_text(yaml.safe_dump_all(core, sort_keys=False))
    (out_dir / f"{overlay}.scaledobject.json").write_text(json.dumps(keda[0], indent=2))


if __name__ == "__main__":
    # python -m tests.support.k8s_render <out_dir> [overlay ...]
    target = Path(sys.argv[1])
    for name in sys.argv[2:] or OVERLAYS:
        write_for_validation(name, target)
