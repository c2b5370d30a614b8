"""`make deploy TARGET=local`: a production rehearsal on this machine. The `local` overlay is
rendered by kustomize, adapted for podman 4.3 (deploy/podman_adapt.py says how), and run
with `podman kube play` from the images `make images` built, against `make up`'s database
and stand-ins (or, for a test, against addresses given in an env file of overrides).

State lives in `.local/deploy-local/`: the adapted YAML (it holds the local stack's
development keys, so it is written 0600 and never committed) and the stop timeouts, so
`down` stops each pod with its own grace period."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml  # type: ignore[import-untyped]  # PyYAML comes with the dev dependencies

from dbolt.env_file import read_env_file
from deploy import release_images, repo
from deploy.podman import podman
from deploy.podman_adapt import Adapted, adapt

ROOT = Path(__file__).resolve().parent.parent
OVERLAY = ROOT / "deploy" / "k8s" / "overlays" / "local"
STATE_DIR = ROOT / ".local" / "deploy-local"


@dataclass(frozen=True)
class Pod:
    name: str
    health_url: str | None
    stop_seconds: int


class LocalSecrets(Mapping[str, Mapping[str, str]]):
    """Any Secret the manifests name (`directorybolt-<service>`, keys = variable names),
    holding the local stack's value for each key. Nothing to list: it answers lookups."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = dict(values)

    def __getitem__(self, name: str) -> Mapping[str, str]:
        if not name.startswith("directorybolt-"):
            raise KeyError(name)
        return self._values

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def adapted_manifests(
    tag: str, overrides: Mapping[str, str], state_dir: Path = STATE_DIR
) -> Adapted:
    """The local overlay, rendered and adapted, with this tag's images and the local
    stack's keys (`overrides` replace what the manifests set: other addresses, a test's
    database)."""
    from deploy.local_values import secret_values  # the local stack's keys; local only

    return adapt(
        render(),
        volume_root=state_dir / "volumes",
        images=local_images(tag),
        secrets=LocalSecrets(secret_values()),
        overrides=overrides,
    )


def render(overlay: Path = OVERLAY) -> list[dict[str, Any]]:
    output = subprocess.run(
        ["kubectl", "kustomize", str(overlay)], capture_output=True, text=True, check=True
    ).stdout
    return [doc for doc in yaml.safe_load_all(output) if doc]


def local_images(tag: str) -> dict[str, str]:
    return {
        release_images.manifest_name(name): release_images.local_ref(name, tag)
        for name in release_images.NAMES
    }


def health_url(environment: Mapping[str, str]) -> str | None:
    """Where a pod answers /healthz: the worker's HEALTH_PORT, or a service's HOST:PORT."""
    if environment.get("HEALTH_PORT"):
        return f"http://127.0.0.1:{environment['HEALTH_PORT']}/healthz"
    if environment.get("PORT"):
        host = environment.get("HOST", "127.0.0.1")
        return f"http://{host}:{environment['PORT']}/healthz"
    return None


def pods(adapted: Adapted) -> list[Pod]:
    return [
        Pod(name, health_url(adapted.environments[name]), adapted.stop_timeouts[name])
        for name in adapted.environments
    ]


def write_state(adapted: Adapted, state_dir: Path = STATE_DIR) -> Path:
    state_dir.mkdir(parents=True, exist_ok=True)
    play = state_dir / "play.yaml"
    # Created 0600 before anything is written: it holds the local stack's keys.
    fd = os.open(play, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        yaml.safe_dump_all(adapted.documents, out, sort_keys=False)
    (state_dir / "pods.json").write_text(
        json.dumps([pod.__dict__ for pod in pods(adapted)], indent=2)
    )
    return play


def read_pods(state_dir: Path = STATE_DIR) -> list[Pod]:
    path = state_dir / "pods.json"
    if not path.exists():
        return []
    return [Pod(**item) for item in json.loads(path.read_text())]


def play(adapted: Adapted, state_dir: Path = STATE_DIR, timeout: float = 120) -> list[Pod]:
    """Start every pod (replacing a previous rehearsal's) and wait until each answers."""
    down(state_dir)
    for document in adapted.documents:
        for volume in document["spec"]["template"]["spec"].get("volumes", []):
            if "hostPath" in volume:
                directory = Path(volume["hostPath"]["path"])
                directory.mkdir(parents=True, exist_ok=True)
                # Like an emptyDir: empty, and writable by the pod's non-root user.
                directory.chmod(0o1777)
    path = write_state(adapted, state_dir)
    print(f"$ podman kube play --replace {path}", flush=True)
    podman("kube", "play", "--replace", str(path))
    started = pods(adapted)
    wait_healthy(started, timeout)
    return started


def wait_healthy(started: list[Pod], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    waiting = [pod for pod in started if pod.health_url]
    while waiting:
        waiting = [pod for pod in waiting if not _answers(pod.health_url)]
        if not waiting:
            return
        if time.monotonic() > deadline:
            logs = {pod.name: pod_logs(pod.name)[-2000:] for pod in waiting}
            raise RuntimeError(
                f"not healthy within {timeout:.0f} s: {', '.join(p.name for p in waiting)}\n"
                + "\n".join(f"--- {name}\n{text}" for name, text in logs.items())
            )
        time.sleep(0.5)


def _answers(url: str | None) -> bool:
    if url is None:
        return True
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def pod_logs(pod: str) -> str:
    containers = podman(
        "pod", "inspect", pod, "--format", "{{range .Containers}}{{.Name}} {{end}}", check=False
    ).stdout.split()
    logs = [podman("logs", name, check=False) for name in containers if not name.endswith("-infra")]
    return "".join(result.stdout + result.stderr for result in logs)


def stop_pod(pod: Pod) -> float:
    """Stop one pod as Kubernetes would (SIGTERM, then the grace period); seconds taken."""
    began = time.monotonic()
    podman("pod", "stop", "--time", str(pod.stop_seconds), pod.name, check=False)
    return time.monotonic() - began


def down(state_dir: Path = STATE_DIR) -> None:
    """Stop every pod of the last rehearsal with its grace period, then remove them and
    their volumes."""
    path = state_dir / "play.yaml"
    for pod in read_pods(state_dir):
        stop_pod(pod)
    if path.exists():
        podman("kube", "down", str(path), check=False)
        path.unlink()
    shutil.rmtree(state_dir / "volumes", ignore_errors=True)
    (state_dir / "pods.json").unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    """`python -m deploy.rehearsal up [--env-file F]` / `down`: the steps `make deploy
    TARGET=local` and `make rehearsal-down` run."""
    parser = argparse.ArgumentParser(prog="python -m deploy.rehearsal")
    parser.add_argument("action", choices=["up", "down"])
    parser.add_argument("--env-file", type=Path, help="overrides: KEY=VALUE per line")
    args = parser.parse_args(argv)
    if args.action == "down":
        down()
        print("rehearsal stopped and removed")
        return 0
    overrides = read_env_file(args.env_file) if args.env_file else {}
    began = time.monotonic()
    started = play(adapted_manifests(repo.image_tag(ROOT), overrides))
    print(f"rehearsal up in {time.monotonic() - began:.1f} s:")
    for pod in started:
        print(f"  {pod.name:<24} {pod.health_url or '(no health endpoint)'}")
    print("stop it: make rehearsal-down")
    return 0


if __name__ == "__main__":
    sys.exit(main())
