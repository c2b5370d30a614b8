"""TARGET=k8s: both images pushed, the supabase step, the overlay applied, rollouts awaited.

Images are pushed first because a push changes nothing that runs: if the registry refuses,
the deploy stops before the database or the cluster was touched. The schema goes before the
apply because migrations are expand-only (forward-only): the running release keeps working
on the new schema, while the new release would fail on the old one.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

from dbolt.words import count_of
from deploy import cluster, kustomization, release_images, repo, settings, supabase_target
from deploy.plan import Plan, Step

OVERLAYS_DIR = Path("deploy") / "k8s" / "overlays"


def overlay_dir(cwd: Path, env: Mapping[str, str]) -> Path:
    return cwd / OVERLAYS_DIR / env.get(settings.K8S_OVERLAY, "").strip()


def check(env: Mapping[str, str], cwd: Path) -> list[str]:
    found = settings.missing(env, settings.K8S_SETTINGS)
    found += [p for p in supabase_target.check(env, cwd, only_db=False) if p not in found]
    overlay = env.get(settings.K8S_OVERLAY, "").strip()
    if overlay and overlay not in settings.OVERLAYS:
        found.append(f"{settings.K8S_OVERLAY} must be one of {', '.join(settings.OVERLAYS)}")
    elif overlay and not (overlay_dir(cwd, env) / "kustomization.yaml").is_file():
        found.append(
            f"{settings.K8S_OVERLAY}={overlay}: {overlay_dir(cwd, env)} has no kustomization"
        )
    dirty = repo.dirty_paths(cwd)
    if overlay == "production" and dirty:
        found.append(
            "refusing production from a tree with uncommitted changes "
            f"({count_of(len(dirty), 'path')}, "
            f"e.g. {dirty[0]}): the image tag would not say what runs; commit or stash first"
        )
    tag = repo.image_tag(cwd)
    found += [
        f"image {ref} is not built here: run `make images`"
        for ref in release_images.missing_locally(tag)
    ]
    return found


def _previous_tags(running: Mapping[str, cluster.Running], tag: str) -> dict[str, str]:
    """Per Deployment, the tag to go back to after this deploy.

    Redeploying the tag that already runs keeps the recorded previous tag: otherwise a
    second deploy of the same commit would make rollback a no-op.
    """
    previous: dict[str, str] = {}
    for name, state in running.items():
        if state.tag and state.tag != tag:
            previous[name] = state.tag
        elif state.previous_tag:
            previous[name] = state.previous_tag
    return previous


def _rendered_images(directory: Path) -> list[str]:
    rendered = subprocess.run(
        ["kubectl", "kustomize", str(directory)], capture_output=True, text=True, check=False
    )
    if rendered.returncode != 0:
        raise RuntimeError(f"kubectl kustomize failed:\n{rendered.stderr.strip()}")
    return re.findall(r"^\s*-?\s*image:\s*(\S+)\s*$", rendered.stdout, flags=re.MULTILINE)


def _check_render(directory: Path, registry: str, tag: str) -> None:
    """Refuse to apply manifests that do not run this release's two images, or that run
    another build of ours (an overlay that renames or pins an image would silently win)."""
    wanted = {
        f"{release_images.registry_repo(registry, name)}:{tag}" for name in release_images.NAMES
    }
    rendered = set(_rendered_images(directory))
    absent = sorted(wanted - rendered)
    stray = sorted(image for image in rendered - wanted if "directorybolt" in image)
    if absent or stray:
        raise RuntimeError(
            f"the rendered manifests do not run this release: missing {absent or 'nothing'}, "
            f"unexpected {stray or 'nothing'}"
        )


def steps(env: Mapping[str, str], cwd: Path, plan: Plan) -> Path:
    """Add this target's steps to `plan`; returns the generated kustomization's directory
    (the caller removes it after the run; here only if building the plan fails)."""
    tag = repo.image_tag(cwd)
    registry = env[settings.IMAGE_REGISTRY].strip()
    context = env[settings.KUBE_CONTEXT].strip()
    running = cluster.read(context)
    previous = _previous_tags(running, tag)
    plan.notes.append(f"release tag {tag} (git commit); cluster context {context}")
    plan.notes.append(
        "running now: "
        + (
            ", ".join(f"{n}={s.tag or '?'}" for n, s in sorted(running.items()))
            or "nothing (first deploy)"
        )
    )
    directory = kustomization.write(overlay_dir(cwd, env), registry, tag, previous)
    try:
        _check_render(directory, registry, tag)
        plan.notes.append(
            f"generated kustomization (not committed): {directory}/kustomization.yaml"
        )
        plan.steps += [
            Step(
                f"push the {name} image to the registry",
                (
                    "podman",
                    "push",
                    release_images.local_ref(name, tag),
                    f"{release_images.registry_repo(registry, name)}:{tag}",
                ),
            )
            for name in release_images.NAMES
        ]
        supabase_target.steps(env, cwd, plan, only_db=False)
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    plan.steps.append(
        Step(
            f"apply overlay {env[settings.K8S_OVERLAY].strip()} with images {registry}/…:{tag}"
            + (f" (records {cluster.PREVIOUS_TAG})" if previous else ""),
            cluster.kubectl(context, "apply", "-k", str(directory), namespaced=False),
        )
    )
    plan.steps += [
        Step(f"wait for {name} to roll out", cluster.rollout_status(context, name))
        for name in cluster.DEPLOYMENTS
    ]
    return directory
