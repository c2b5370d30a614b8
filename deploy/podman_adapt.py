"""The Kubernetes manifests, adapted for `podman kube play` (podman 4.3): the local rehearsal
runs the very Deployments the cluster gets, and this module is the whole list of what it
changes on the way, each change said in `Adapted.changes`.

What podman 4.3 cannot take, and what is done instead:
- Secret references fail to parse ("not valid JSON"): every secretKeyRef / secretRef is
  replaced by the value from the local secrets (the local stack's development keys).
- ConfigMap references are inlined too, so a container's whole environment is in one place
  and the local overrides (loopback addresses, free ports) replace values the manifest sets —
  never add new variables (each one must stay a field of that service's settings).
- Container ports with host networking fail, and there is no bridge network on this VM:
  pods run with hostNetwork and without `ports`; each service listens on its PORT.
- Under hostNetwork every replica has the host's hostname (workers would share a default
  WORKER_ID) and the host's ports: each replica becomes its own Deployment `<name>-<n>`
  with that hostname, listening on the first free PORT / HEALTH_PORT from the manifest's
  (replica n of one Deployment on port + n, unless another pod took it: the scouts share the
  workers' config, HEALTH_PORT included).
- httpGet probes become healthchecks that run curl inside the container (our images have
  none): dropped; the rehearsal polls /healthz from outside instead.
- emptyDir becomes a named volume owned by root (not writable by our uid 10001) and shared
  by every pod that names it: each emptyDir becomes a fresh hostPath directory of its own
  pod under the rehearsal's state directory (world-writable, like an emptyDir). One mounted
  at /dev/shm is dropped: podman gives every container its own 64 MB /dev/shm.
- terminationGracePeriodSeconds is ignored (podman stops after 10 s): kept in
  `Adapted.stop_timeouts` and passed to `podman pod stop -t` by whoever stops a pod.
- Services, NetworkPolicies, PodDisruptionBudgets, ScaledObjects and the like have nothing
  to act on without a cluster: left out.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Manifest = dict[str, Any]

# The variables a pod listens on: each pod gets the first port from the manifest's that no
# pod before it took, since under host networking every pod shares one network namespace.
LISTEN_PORTS = frozenset({"PORT", "HEALTH_PORT"})
# podman's default when a pod's grace period is not known.
PODMAN_STOP_SECONDS = 10


class AdaptError(ValueError):
    """The manifests cannot be rehearsed as they are; the message names what is missing."""


@dataclass
class Adapted:
    documents: list[Manifest]
    changes: list[str]
    # Pod name (as podman names it: `<deployment>-pod-0`) → seconds to give it on stop.
    stop_timeouts: dict[str, int] = field(default_factory=dict)
    # Pod name → the container environment, for callers that need to know ports.
    environments: dict[str, dict[str, str]] = field(default_factory=dict)


def pod_name(deployment: str) -> str:
    """The name podman 4.3 gives a Deployment's single pod."""
    return f"{deployment}-pod-0"


def adapt(
    rendered: Iterable[Manifest],
    *,
    volume_root: Path,
    images: Mapping[str, str],
    secrets: Mapping[str, Mapping[str, str]],
    overrides: Mapping[str, str] | None = None,
) -> Adapted:
    """`rendered`: the overlay's documents; `volume_root`: where emptyDir directories go;
    `images`: manifest image name (without tag) →
    local reference; `secrets`: Secret name → key → value; `overrides`: variable → value,
    replacing what the manifests set (an override no container sets is an error)."""
    documents = list(rendered)
    config_maps = {
        doc["metadata"]["name"]: dict(doc.get("data") or {})
        for doc in documents
        if doc.get("kind") == "ConfigMap"
    }
    overrides = dict(overrides or {})
    used_overrides: set[str] = set()
    changes: list[str] = []
    dropped = sorted(
        {doc["kind"] for doc in documents if doc.get("kind") not in ("Deployment", "ConfigMap")}
    )
    if dropped:
        changes.append(f"left out (no cluster to act on them): {', '.join(dropped)}")
    result = Adapted(documents=[], changes=changes)
    taken_ports: set[int] = set()
    for deployment in (doc for doc in documents if doc.get("kind") == "Deployment"):
        replicas = int(deployment["spec"].get("replicas", 1))
        for index in range(replicas):
            name = f"{deployment['metadata']['name']}-{index}"
            adapted, environment = _adapt_deployment(
                deployment,
                name,
                volume_root,
                images,
                secrets,
                config_maps,
                overrides,
                used_overrides,
                taken_ports,
            )
            result.documents.append(adapted)
            pod = pod_name(name)
            result.environments[pod] = environment
            grace = deployment["spec"]["template"]["spec"].get("terminationGracePeriodSeconds")
            result.stop_timeouts[pod] = int(grace) if grace is not None else PODMAN_STOP_SECONDS
    unused = sorted(set(overrides) - used_overrides)
    if unused:
        raise AdaptError(f"overrides no container sets (typo?): {', '.join(unused)}")
    changes.extend(
        [
            "each replica is its own single-replica Deployment <name>-<n> with its own "
            "hostname and the first free PORT/HEALTH_PORT from the manifest's (under "
            "hostNetwork pods share the host's name and ports)",
            "hostNetwork: true and no container ports (no bridge network on this VM)",
            "Secret and ConfigMap references inlined as values (podman 4.3 cannot read "
            "Secret references); local overrides replace loopback addresses and ports",
            "httpGet probes dropped (podman runs them with curl inside the image); "
            "readiness is polled on /healthz from outside",
            "emptyDir volumes become per-pod world-writable hostPath directories (podman "
            "4.3 makes them root-owned named volumes shared between pods); /dev/shm is "
            "podman's own 64 MB",
            "terminationGracePeriodSeconds passed to `podman pod stop -t` (podman ignores it)",
        ]
    )
    return result


def _adapt_deployment(
    deployment: Manifest,
    name: str,
    volume_root: Path,
    images: Mapping[str, str],
    secrets: Mapping[str, Mapping[str, str]],
    config_maps: Mapping[str, Mapping[str, str]],
    overrides: Mapping[str, str],
    used_overrides: set[str],
    taken_ports: set[int],
) -> tuple[Manifest, dict[str, str]]:
    adapted = copy.deepcopy(deployment)
    adapted["metadata"]["name"] = name
    spec = adapted["spec"]
    spec["replicas"] = 1
    pod = spec["template"]["spec"]
    pod["hostNetwork"] = True
    pod["hostname"] = name
    shm = {
        mount["name"]
        for container in pod.get("containers", [])
        for mount in container.get("volumeMounts", [])
        if mount["mountPath"] == "/dev/shm"  # noqa: S108 - a mount point, not a temp file
    }
    volumes = []
    for volume in pod.get("volumes", []):
        if volume["name"] in shm:
            continue
        if "emptyDir" in volume:
            directory = volume_root / f"{name}-{volume['name']}"
            volume = {"name": volume["name"], "hostPath": {"path": str(directory)}}
        volumes.append(volume)
    pod["volumes"] = volumes
    environment: dict[str, str] = {}
    for container in [*pod.get("initContainers", []), *pod.get("containers", [])]:
        container["image"] = _local_image(container["image"], images)
        container.pop("ports", None)
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            container.pop(probe, None)
        container["volumeMounts"] = [
            mount for mount in container.get("volumeMounts", []) if mount["name"] not in shm
        ]
        env = _resolved_env(container, name, secrets, config_maps)
        for key in env.keys() & overrides.keys():
            env[key] = overrides[key]
            used_overrides.add(key)
        for key in sorted(env.keys() & LISTEN_PORTS):
            port = int(env[key])
            while port in taken_ports:
                port += 1
            taken_ports.add(port)
            env[key] = str(port)
        container.pop("envFrom", None)
        container["env"] = [{"name": key, "value": value} for key, value in env.items()]
        environment.update(env)
    return adapted, environment


def _local_image(image: str, images: Mapping[str, str]) -> str:
    repository = image.rsplit("@", 1)[0]
    last = repository.rsplit("/", 1)[-1]
    if ":" in last:
        repository = repository.rsplit(":", 1)[0]
    for manifest_name, local in images.items():
        if repository == manifest_name or repository.endswith("/" + manifest_name):
            return local
    raise AdaptError(f"no local image for {image} (known: {', '.join(sorted(images))})")


def _resolved_env(
    container: Manifest,
    pod: str,
    secrets: Mapping[str, Mapping[str, str]],
    config_maps: Mapping[str, Mapping[str, str]],
) -> dict[str, str]:
    """The container's environment as values, in Kubernetes' order: envFrom first, then
    env (which wins)."""
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        prefix = source.get("prefix", "")
        if "configMapRef" in source:
            data = _lookup(config_maps, source["configMapRef"]["name"], "ConfigMap")
        else:
            data = _lookup(secrets, source["secretRef"]["name"], "Secret")
        env.update({prefix + key: str(value) for key, value in data.items()})
    for item in container.get("env", []):
        env[item["name"]] = _value(item, pod, secrets, config_maps)
    return env


def _value(
    item: Manifest,
    pod: str,
    secrets: Mapping[str, Mapping[str, str]],
    config_maps: Mapping[str, Mapping[str, str]],
) -> str:
    if "value" in item:
        return str(item["value"])
    source = item.get("valueFrom", {})
    if "secretKeyRef" in source:
        ref = source["secretKeyRef"]
        return _key(_lookup(secrets, ref["name"], "Secret"), ref["key"], ref["name"])
    if "configMapKeyRef" in source:
        ref = source["configMapKeyRef"]
        return _key(_lookup(config_maps, ref["name"], "ConfigMap"), ref["key"], ref["name"])
    if source.get("fieldRef", {}).get("fieldPath") == "metadata.name":
        return pod
    raise AdaptError(f"{item['name']}: cannot rehearse valueFrom {sorted(source)}")


def _lookup(sources: Mapping[str, Mapping[str, str]], name: str, kind: str) -> Mapping[str, str]:
    if name not in sources:
        raise AdaptError(f"{kind} {name} is referenced but not provided for the rehearsal")
    return sources[name]


def _key(data: Mapping[str, str], key: str, name: str) -> str:
    if key not in data:
        raise AdaptError(f"{name} has no key {key}")
    return str(data[key])
