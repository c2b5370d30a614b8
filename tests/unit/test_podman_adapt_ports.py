"""The local rehearsal's pods share the host's network (deploy/podman_adapt.py): no two may
listen on one port. The scouts read the workers' config, HEALTH_PORT included, so without the
allocator the first worker and the scouts both bound it and the worker died at start."""

from __future__ import annotations

from pathlib import Path

from deploy import rehearsal
from deploy.podman_adapt import LISTEN_PORTS


def test_every_rehearsal_pod_listens_on_ports_of_its_own(tmp_path: Path) -> None:
    adapted = rehearsal.adapted_manifests("test", {}, state_dir=tmp_path)
    listening = [
        (pod, key, environment[key])
        for pod, environment in sorted(adapted.environments.items())
        for key in sorted(environment.keys() & LISTEN_PORTS)
    ]
    ports = [port for _, _, port in listening]
    assert len(ports) == len(set(ports)), listening
    pods = {pod for pod, _, _ in listening}
    assert {"worker-0-pod-0", "worker-1-pod-0", "scouts-0-pod-0"} <= pods
