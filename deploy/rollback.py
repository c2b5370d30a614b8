"""`make rollback`: every Deployment back to the image tag it ran before the last deploy.

Only images move. The database is never rolled back: migrations are forward-only (the CLI
has no down migrations, and undoing a column drop cannot bring its data back), and each
migration is written so the previous release still works on the new schema. A bad migration
is undone by a new migration, deployed forward.

`kubectl set image` on our containers only (not `kubectl rollout undo`): undo returns to the
previous ReplicaSet, which after a config-only change is not the previous tag, and a second
undo flips back. Each Deployment's own recorded tag is used, so a half-finished deploy rolls
back correctly too. The tag rolled away from becomes the new previous tag.
"""

from __future__ import annotations

from collections.abc import Mapping

from deploy import cluster, release_images
from deploy.plan import Plan, Step
from deploy.settings import KUBE_CONTEXT, ROLLBACK_SETTINGS, SettingsError, missing


def check(env: Mapping[str, str]) -> list[str]:
    return missing(env, ROLLBACK_SETTINGS)


def steps(env: Mapping[str, str], plan: Plan) -> None:
    context = env[KUBE_CONTEXT].strip()
    running = cluster.read(context)
    problems = [
        f"deployment/{name} does not exist" for name in cluster.DEPLOYMENTS if name not in running
    ]
    problems += [
        f"deployment/{name} has no {cluster.PREVIOUS_TAG} annotation (not deployed by make deploy)"
        for name, state in sorted(running.items())
        if not state.previous_tag
    ]
    if problems:
        raise SettingsError(problems)
    waits: list[Step] = []
    for name in cluster.DEPLOYMENTS:
        state = running[name]
        previous = state.previous_tag
        assert previous is not None  # checked above
        updates = [
            f"{c.name}={c.image.rpartition(':')[0]}:{previous}"
            for c in state.containers
            if release_images.tag_of(c.image) is not None
        ]
        plan.steps.append(
            Step(
                f"{name}: {state.tag or '?'} -> {previous}",
                cluster.kubectl(context, "set", "image", f"deployment/{name}", *updates),
            )
        )
        if state.tag:
            plan.steps.append(
                Step(
                    f"{name}: remember {state.tag} as the tag to go back to",
                    cluster.kubectl(
                        context,
                        "annotate",
                        f"deployment/{name}",
                        f"{cluster.PREVIOUS_TAG}={state.tag}",
                        "--overwrite",
                    ),
                )
            )
        waits.append(Step(f"wait for {name} to roll out", cluster.rollout_status(context, name)))
    plan.steps += waits
    plan.notes.append("images only: the database keeps its schema (migrations are forward-only)")
