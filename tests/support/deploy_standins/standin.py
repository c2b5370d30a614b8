"""Stand-ins for kubectl, podman and the supabase CLI in tests/e2e/test_deploy_cli.py.

Why stand-ins are fair here: these are external tools whose servers (a Kubernetes API, an
image registry, Supabase's Management API) do not exist on this machine, and what `make
deploy` owes them is the right commands in the right order, which the recorded argv shows.
Everything that can run offline runs for real: `kubectl kustomize` is handed to the real
kubectl, so the manifests a deploy would apply are rendered by kustomize itself.

Called as `standin.py <tool> <args…>` by a tiny wrapper named after the tool. Environment:
STANDIN_DIR (where argv is logged as JSON lines, and where files are kept), REAL_KUBECTL,
STANDIN_CLUSTER (a JSON Deployment list `kubectl get` answers with; absent: no Deployments),
STANDIN_DRY_RUN (what `supabase db push --dry-run` prints), STANDIN_STUCK (a Deployment whose
rollout never finishes).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path


def main() -> int:
    tool, args = sys.argv[1], sys.argv[2:]
    state = Path(os.environ["STANDIN_DIR"])
    with (state / "calls.jsonl").open("a") as log:
        log.write(json.dumps([tool, *args]) + "\n")
    if tool == "kubectl":
        return kubectl(args, state)
    if tool == "podman":
        if args[:1] == ["push"]:
            print("Writing manifest to image destination")
        return 0  # `image exists`: the images are there
    if tool == "supabase":
        if "--dry-run" in args:
            print(os.environ.get("STANDIN_DRY_RUN", "Remote database is up to date."))
        else:
            print("Finished supabase " + " ".join(args[:2]) + ".")
        return 0
    return 127


def kubectl(args: list[str], state: Path) -> int:
    while args and args[0].startswith("--"):  # --context X, --namespace Y
        args = args[2:]
    real = os.environ["REAL_KUBECTL"]
    if args[0] == "kustomize":
        return subprocess.run([real, *args], check=False).returncode
    if args[0] == "get":
        cluster = os.environ.get("STANDIN_CLUSTER")
        if cluster:
            print(Path(cluster).read_text())
        return 0
    if args[:2] == ["apply", "-k"]:
        # The generated directory is temporary; keep what it rendered to for the test.
        rendered = subprocess.run([real, "kustomize", args[2]], capture_output=True, text=True)
        (state / "applied.yaml").write_text(rendered.stdout)
        shutil.copy(Path(args[2]) / "kustomization.yaml", state / "kustomization.yaml")
        print("deployment.apps/orchestrator configured")
        return rendered.returncode
    if args[:2] == ["rollout", "status"]:
        deployment = args[2].split("/")[1]
        if deployment == os.environ.get("STANDIN_STUCK"):
            print(f"error: deployment {deployment!r} exceeded its progress deadline")
            return 1
        print(f'deployment "{deployment}" successfully rolled out')
    return 0


if __name__ == "__main__":
    sys.exit(main())
