"""TARGET=local: the production rehearsal on this machine (deploy/rehearsal.py runs it).

check() refuses before anything starts when the images of this commit are missing or a
tool is; the plan lists each podman adaptation (deploy/podman_adapt.py), the pods and
where each answers, then one step runs the rehearsal."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path

from dbolt.env_file import read_env_file
from deploy import rehearsal, release_images, repo
from deploy.plan import Plan, Step

# An env file of KEY=VALUE overrides for the manifests' values (other addresses, a test's
# database); unset, the rehearsal joins `make up`'s stack as the local overlay says.
OVERRIDES_FILE = "REHEARSAL_ENV_FILE"


def check(env: Mapping[str, str], cwd: Path) -> list[str]:
    found = [
        f"{tool} is not installed: run `make deps`"
        for tool in ("podman", "kubectl")
        if shutil.which(tool) is None
    ]
    if found:
        return found
    overrides = env.get(OVERRIDES_FILE, "")
    if overrides and not Path(overrides).is_file():
        found.append(f"{OVERRIDES_FILE}={overrides}: no such file")
    elif overrides:
        try:
            read_env_file(Path(overrides))
        except ValueError as error:
            found.append(f"{OVERRIDES_FILE}: {error}")
    found += [
        f"image {ref} is not built here: run `make images`"
        for ref in release_images.missing_locally(repo.image_tag(cwd))
    ]
    return found


def steps(env: Mapping[str, str], cwd: Path, plan: Plan) -> None:
    overrides_file = env.get(OVERRIDES_FILE, "")
    overrides = read_env_file(Path(overrides_file)) if overrides_file else {}
    # Built here so a manifest the rehearsal cannot take is refused before anything runs.
    tag = repo.image_tag(cwd)
    adapted = rehearsal.adapted_manifests(tag, overrides)
    plan.notes.append(f"images {', '.join(sorted(rehearsal.local_images(tag).values()))}")
    plan.notes.append(
        "against "
        + (
            f"the overrides in {overrides_file}"
            if overrides_file
            else "make up's database and stand-ins"
        )
    )
    plan.notes += [f"podman 4.3: {change}" for change in adapted.changes]
    plan.notes += [
        f"pod {pod.name}: {pod.health_url or 'no health endpoint'}, stop grace {pod.stop_seconds} s"
        for pod in rehearsal.pods(adapted)
    ]
    argv = [sys.executable, "-m", "deploy.rehearsal", "up"]
    if overrides_file:
        argv += ["--env-file", os.fspath(overrides_file)]
    plan.steps.append(
        Step(
            "stop the previous rehearsal, podman kube play the adapted overlay, wait for "
            "every /healthz",
            tuple(argv),
        )
    )
