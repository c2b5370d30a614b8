"""`python -m deploy` (make deploy / make rollback), run as operators run it: a subprocess.

TARGET=supabase runs the real supabase CLI against a fresh database of the local cluster
that has Supabase's bootstrap but none of our migrations, as a new hosted project would.
TARGET=k8s and rollback run against stand-ins for kubectl, podman and the supabase CLI
(tests/support/deploy_standins/standin.py says why that is fair: no API server, registry or hosted
project exists here) in a throwaway git repository holding a small overlay; kustomize itself
is real.
"""

from __future__ import annotations

import json
import os
import pty
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from deploy import function_secrets
from devstack import localdb

ROOT = Path(__file__).resolve().parents[2]
STANDIN = ROOT / "tests" / "support" / "deploy_standins" / "standin.py"
DEPLOYMENTS = ("orchestrator", "webhook", "portal", "worker")
SUPABASE_NAMES = (
    "SUPABASE_DB_URL",
    "SUPABASE_PROJECT_REF",
    "SUPABASE_ACCESS_TOKEN",
    "FUNCTIONS_ENV_FILE",
    "PORTAL_URL",
)
K8S_NAMES = (*SUPABASE_NAMES, "IMAGE_REGISTRY", "K8S_OVERLAY", "KUBE_CONTEXT")
# Values that stand for secrets: none may appear in anything the tool prints.
ACCESS_TOKEN = "sbp_0123456789abcdef0123456789abcdef01234567"
STRIPE_KEY = "sk_live_standin_51Habcdefghijklmnop"
SIGNING_SECRET = "whsec_standin_signing_0987654321"
REMOTE_DB_URL = "postgresql://postgres:hunter2-pw@db.abcdefghijklmnopqrst.supabase.co:5432/postgres"
PROJECT_REF = "abcdefghijklmnopqrst"
REGISTRY = "registry.example:5000/ops"


def deploy(
    *args: str, env: dict[str, str], cwd: Path = ROOT, path: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the tool with only `env` (no operator or CI settings leak in) and no terminal."""
    search_path = os.environ["PATH"] if path is None else f"{path}{os.pathsep}{os.environ['PATH']}"
    clean = {
        "PATH": search_path,
        "HOME": os.environ.get("HOME", "/root"),
        "PYTHONPATH": str(ROOT),
        "LOCAL_DB_PORT": str(localdb.PORT),
    }
    return subprocess.run(
        [sys.executable, "-m", "deploy", *args],
        env={**clean, **env},
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def write_functions_env(directory: Path, **overrides: str | None) -> Path:
    values: dict[str, str | None] = {
        "STRIPE_SECRET_KEY": STRIPE_KEY,
        "CHECKOUT_SIGNING_SECRET": SIGNING_SECRET,
        "PORTAL_URL": "https://app.directorybolt.example",
        **{f"STRIPE_PRICE_{tier.upper()}": f"price_{tier}" for tier in function_secrets.TIERS},
        **overrides,
    }
    path = directory / "functions.env"
    path.write_text("".join(f"{k}={v}\n" for k, v in values.items() if v is not None))
    return path


# -- settings -------------------------------------------------------------------------------
@pytest.mark.parametrize(("target", "names"), [("supabase", SUPABASE_NAMES), ("k8s", K8S_NAMES)])
def test_every_missing_setting_is_named_in_one_error(target: str, names: tuple[str, ...]) -> None:
    result = deploy(target, "--yes", env={})
    assert result.returncode == 2
    for name in names:
        assert f"{name} is not set" in result.stderr
    assert "Plan:" not in result.stdout


def test_unknown_targets_are_refused() -> None:
    unknown = deploy("staging", env={})
    assert unknown.returncode == 2
    assert "unknown TARGET 'staging'" in unknown.stderr
    assert "TARGET is required" in deploy(env={}).stderr


def test_the_local_rehearsal_names_a_missing_overrides_file(tmp_path: Path) -> None:
    missing = tmp_path / "rehearsal.env"
    local = deploy("local", "--yes", env={"REHEARSAL_ENV_FILE": str(missing)})
    assert local.returncode == 2
    assert f"REHEARSAL_ENV_FILE={missing}: no such file" in local.stderr
    assert "Plan:" not in local.stdout


def test_the_functions_env_file_is_checked_by_name_never_by_value(tmp_path: Path) -> None:
    env_file = write_functions_env(
        tmp_path, STRIPE_PRICE_GROWTH=None, SUPABASE_URL="https://x.supabase.co"
    )
    env = {
        "SUPABASE_DB_URL": REMOTE_DB_URL,
        "SUPABASE_PROJECT_REF": "not-a-ref",
        "SUPABASE_ACCESS_TOKEN": ACCESS_TOKEN,
        "FUNCTIONS_ENV_FILE": str(env_file),
        "PORTAL_URL": "https://other.example",
    }
    result = deploy("supabase", "--yes", env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert "STRIPE_PRICE_GROWTH is missing" in result.stderr
    assert "SUPABASE_URL is set by the platform" in result.stderr
    assert "PORTAL_URL differs" in result.stderr
    assert "SUPABASE_PROJECT_REF must be 20 lowercase letters" in result.stderr
    for secret in (STRIPE_KEY, SIGNING_SECRET, ACCESS_TOKEN, REMOTE_DB_URL, "hunter2-pw"):
        assert secret not in result.stdout + result.stderr


def test_required_function_secrets_follow_the_checkout_function() -> None:
    handler = (ROOT / "supabase" / "functions" / "checkout" / "handler.ts").read_text()
    read = set(re.findall(r'require(?:Env|Url)\("([A-Z_]+)"(\s*,)?', handler))
    required = {name for name, has_default in read if not has_default}
    defaulted = {name for name, has_default in read if has_default}
    assert "STRIPE_PRICE_${tier.toUpperCase()}" in handler
    tiers = re.search(r"TIERS = \[([^\]]+)\]", handler)
    assert tiers is not None
    prices = {f"STRIPE_PRICE_{tier.upper()}" for tier in re.findall(r'"(\w+)"', tiers.group(1))}
    assert set(function_secrets.REQUIRED) == required | prices
    assert set(function_secrets.OPTIONAL) == defaulted


def test_the_example_env_file_lists_exactly_the_function_secrets() -> None:
    example = (ROOT / "deploy" / "functions.env.example").read_text()
    listed = re.findall(r"^#? ?([A-Z_]+)=", example, flags=re.MULTILINE)
    assert sorted(listed) == sorted([*function_secrets.REQUIRED, *function_secrets.OPTIONAL])


@pytest.mark.parametrize(("answer", "runs"), [("n", False), ("y", True)])
def test_an_operator_answers_the_prompt_on_a_terminal(
    standins: Path, tmp_path: Path, answer: str, runs: bool
) -> None:
    env = {
        "PATH": f"{standins}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(ROOT),
        "SUPABASE_DB_URL": REMOTE_DB_URL,
        "STANDIN_DIR": str(standins.parent / "state"),
        "STANDIN_DRY_RUN": "Would push these migrations:\n • 20990101000000_next.sql",
    }
    controller, terminal = pty.openpty()
    os.write(controller, f"{answer}\n".encode())
    with os.fdopen(terminal) as stdin:
        result = subprocess.run(
            [sys.executable, "-m", "deploy", "supabase", "--only", "db"],
            env=env,
            cwd=tmp_path,  # no node_modules here: the supabase on PATH (the stand-in) is used
            stdin=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    os.close(controller)
    assert "Run this plan? [y/N]" in result.stdout
    pushed = ["supabase", "db", "push", "--db-url", REMOTE_DB_URL, "--yes"] in calls(standins)
    assert pushed is runs
    assert result.returncode == (0 if runs else 1), result.stdout + result.stderr


# -- TARGET=supabase against the local cluster ------------------------------------------------
@pytest.fixture
def empty_project_db(cluster: None) -> Iterator[str]:
    """A database with what a new hosted project has (devstack's bootstrap), no migrations."""
    name = f"dbolt_deploy_{os.getpid()}"
    # The bootstrap and the push create cluster-wide roles; a template build running in another
    # test process at the same moment would race them, so the template is built first.
    localdb.fresh(f"dbolt_deploy_probe_{os.getpid()}")
    with psycopg.connect(localdb.database_url(), autocommit=True) as conn:
        conn.execute(f'drop database "dbolt_deploy_probe_{os.getpid()}"')
        conn.execute(f'drop database if exists "{name}" with (force)')
        conn.execute(f'create database "{name}"')
    with psycopg.connect(localdb.database_url(name), autocommit=True) as conn:
        conn.execute(localdb.BOOTSTRAP_SQL.read_text())
        conn.execute(localdb.BOOTSTRAP_SQL.with_name("realtime_notify.sql").read_text())
    yield localdb.database_url(name) + "?sslmode=disable"
    with psycopg.connect(localdb.database_url(), autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')


def applied_versions(db_url: str) -> list[str]:
    with psycopg.connect(db_url.split("?")[0]) as conn:
        exists = conn.execute("select to_regclass('supabase_migrations.schema_migrations')")
        if exists.fetchone() == (None,):
            return []
        rows = conn.execute("select version from supabase_migrations.schema_migrations")
        return sorted(row[0] for row in rows)


def test_supabase_db_push_applies_the_migrations_then_has_nothing_to_push(
    empty_project_db: str,
) -> None:
    env = {"SUPABASE_DB_URL": empty_project_db}
    files = sorted(p.name.split("_")[0] for p in (ROOT / "supabase/migrations").glob("*.sql"))

    refused = deploy("supabase", "--only", "db", env=env)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "stdin is not a terminal" in refused.stderr
    assert "Would push these migrations" in refused.stdout
    assert applied_versions(empty_project_db) == []

    first = deploy("supabase", "--only", "db", env={**env, "CI": "true"})
    assert first.returncode == 0, first.stdout + first.stderr
    assert "Confirmed by CI=true." in first.stdout
    assert '$ node_modules/.bin/supabase db push --db-url "$SUPABASE_DB_URL" --yes' in (
        first.stdout.replace(str(ROOT) + "/", "")
    )
    assert "skipped: supabase functions deploy — --only db" in first.stdout
    assert "--include-seed" not in first.stdout
    assert empty_project_db not in first.stdout + first.stderr
    assert applied_versions(empty_project_db) == files
    with psycopg.connect(empty_project_db.split("?")[0]) as conn:
        assert conn.execute("select to_regclass('public.orders')").fetchone() == ("orders",)
        # No seed: the dev fixtures never reach a deployed database.
        assert conn.execute("select to_regnamespace('dev')").fetchone() == (None,)

    second = deploy("supabase", "--only", "db", "--yes", env=env)
    assert second.returncode == 0, second.stdout + second.stderr
    # The CLI's own words ("Local …" when the port is config.toml's local one, 54322).
    assert re.search(r"(Remote|Local) database is up to date\.", second.stdout)
    assert "skipped: supabase db push — nothing to push" in second.stdout
    assert "Nothing to do." in second.stdout


# -- TARGET=k8s and rollback against stand-ins ------------------------------------------------
@pytest.fixture
def standins(tmp_path: Path) -> Path:
    """A directory to put first on PATH: kubectl, podman and supabase that log their argv."""
    bin_dir, state = tmp_path / "bin", tmp_path / "state"
    bin_dir.mkdir()
    state.mkdir()
    for tool in ("kubectl", "podman", "supabase"):
        wrapper = bin_dir / tool
        wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{STANDIN}" {tool} "$@"\n')
        wrapper.chmod(0o755)
    return bin_dir


def calls(bin_dir: Path) -> list[list[str]]:
    log = bin_dir.parent / "state" / "calls.jsonl"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A committed checkout with a kustomize base of our four Deployments and two overlays."""
    root = tmp_path / "project"
    base = root / "deploy" / "k8s" / "base"
    base.mkdir(parents=True)
    for name in DEPLOYMENTS:
        image = "directorybolt/worker" if name == "worker" else "directorybolt/services"
        (base / f"{name}.yaml").write_text(
            f"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\nspec:\n"
            f"  selector: {{matchLabels: {{app: {name}}}}}\n  template:\n"
            f"    metadata: {{labels: {{app: {name}}}}}\n    spec:\n"
            f"      containers:\n        - name: {name}\n          image: {image}\n"
        )
    (base / "kustomization.yaml").write_text(
        "resources: [" + ", ".join(f"{n}.yaml" for n in DEPLOYMENTS) + "]\n"
    )
    for overlay in ("staging", "production"):
        directory = root / "deploy" / "k8s" / "overlays" / overlay
        directory.mkdir(parents=True)
        (directory / "kustomization.yaml").write_text(
            "namespace: directorybolt\nresources: [../../base]\n"
        )
    (root / ".gitignore").write_text("functions.env\n")
    write_functions_env(root)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], cwd=root, check=True)
    subprocess.run([*git, "add", "."], cwd=root, check=True)
    subprocess.run([*git, "commit", "-qm", "release"], cwd=root, check=True)
    return root


def head_tag(project: Path) -> str:
    return subprocess.run(
        ["git", "rev-parse", "--short=12", "HEAD"], cwd=project, capture_output=True, text=True
    ).stdout.strip()


def cluster_file(directory: Path, tag: str, previous: str | None) -> Path:
    """What `kubectl get deployment -o json` shows for our Deployments running `tag`."""
    items = []
    for name in DEPLOYMENTS:
        image = "worker" if name == "worker" else "services"
        annotations = {"directorybolt.com/previous-tag": previous} if previous else {}
        items.append(
            {
                "kind": "Deployment",
                "metadata": {"name": name, "annotations": annotations},
                "spec": {
                    "template": {
                        "spec": {
                            "containers": [
                                {"name": name, "image": f"{REGISTRY}/directorybolt/{image}:{tag}"}
                            ]
                        }
                    }
                },
            }
        )
    path = directory / "cluster.json"
    path.write_text(json.dumps({"kind": "List", "items": items}))
    return path


def k8s_env(bin_dir: Path, overlay: str = "staging", **extra: str) -> dict[str, str]:
    return {
        "SUPABASE_DB_URL": REMOTE_DB_URL,
        "SUPABASE_PROJECT_REF": PROJECT_REF,
        "SUPABASE_ACCESS_TOKEN": ACCESS_TOKEN,
        "FUNCTIONS_ENV_FILE": "functions.env",
        "PORTAL_URL": "https://app.directorybolt.example",
        "IMAGE_REGISTRY": REGISTRY,
        "K8S_OVERLAY": overlay,
        "KUBE_CONTEXT": "prod-eu",
        "STANDIN_DIR": str(bin_dir.parent / "state"),
        "REAL_KUBECTL": shutil.which("kubectl") or "kubectl",
        "STANDIN_DRY_RUN": "Would push these migrations:\n • 20990101000000_next.sql",
        **extra,
    }


def rollback_env(bin_dir: Path, running: Path) -> dict[str, str]:
    """Rollback needs only the context (and the stand-ins' own settings)."""
    standin_settings = {
        k: v for k, v in k8s_env(bin_dir).items() if k.startswith(("STANDIN", "REAL"))
    }
    return {"KUBE_CONTEXT": "prod-eu", "STANDIN_CLUSTER": str(running), **standin_settings}


def test_k8s_runs_supabase_pushes_both_images_applies_and_waits(
    project: Path, standins: Path, tmp_path: Path
) -> None:
    tag = head_tag(project)
    running = cluster_file(tmp_path, "0ld0ld0ld0ld", previous="01der01der01")
    env = k8s_env(standins, STANDIN_CLUSTER=str(running))

    result = deploy("k8s", "--yes", env=env, cwd=project, path=standins)

    assert result.returncode == 0, result.stdout + result.stderr
    ctx = ["--context", "prod-eu"]
    ns = [*ctx, "--namespace", "directorybolt"]
    applied_dir = next(c for c in calls(standins) if c[:4] == ["kubectl", *ctx, "apply"])[-1]
    expected = [
        ["podman", "image", "exists", f"localhost/directorybolt/services:{tag}"],
        ["podman", "image", "exists", f"localhost/directorybolt/worker:{tag}"],
        ["kubectl", *ns, "get", "deployment", *DEPLOYMENTS, "--ignore-not-found", "-o", "json"],
        ["kubectl", "kustomize", applied_dir],
        ["supabase", "db", "push", "--db-url", REMOTE_DB_URL, "--dry-run"],
        ["podman", "push", f"localhost/directorybolt/services:{tag}",
         f"{REGISTRY}/directorybolt/services:{tag}"],
        ["podman", "push", f"localhost/directorybolt/worker:{tag}",
         f"{REGISTRY}/directorybolt/worker:{tag}"],
        ["supabase", "db", "push", "--db-url", REMOTE_DB_URL, "--yes"],
        ["supabase", "config", "push", "--project-ref", PROJECT_REF, "--yes"],
        ["supabase", "secrets", "set", "--env-file", "functions.env", "--project-ref", PROJECT_REF],
        ["supabase", "functions", "deploy", "checkout", "--project-ref", PROJECT_REF, "--use-api"],
        ["kubectl", *ctx, "apply", "-k", applied_dir],
        *(["kubectl", *ns, "rollout", "status", f"deployment/{n}", "--timeout=300s"]
          for n in DEPLOYMENTS),
    ]  # fmt: skip
    assert calls(standins) == expected

    applied = (standins.parent / "state" / "applied.yaml").read_text()
    images = re.findall(r"image: (\S+)", applied)
    assert sorted(images) == sorted(
        [f"{REGISTRY}/directorybolt/services:{tag}"] * 3
        + [f"{REGISTRY}/directorybolt/worker:{tag}"]
    )
    assert applied.count("namespace: directorybolt") == 4
    assert applied.count("directorybolt.com/previous-tag: 0ld0ld0ld0ld") == 4
    assert not Path(applied_dir).exists(), "the generated kustomization is temporary"
    output = result.stdout + result.stderr
    for secret in (ACCESS_TOKEN, REMOTE_DB_URL, "hunter2-pw", STRIPE_KEY, SIGNING_SECRET):
        assert secret not in output
    assert '"$SUPABASE_DB_URL"' in output


def test_redeploying_the_running_tag_keeps_the_tag_to_roll_back_to(
    project: Path, standins: Path, tmp_path: Path
) -> None:
    running = cluster_file(tmp_path, head_tag(project), previous="0ld0ld0ld0ld")
    result = deploy(
        "k8s", "--yes", env=k8s_env(standins, STANDIN_CLUSTER=str(running)), cwd=project,
        path=standins,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    applied = (standins.parent / "state" / "applied.yaml").read_text()
    assert applied.count("directorybolt.com/previous-tag: 0ld0ld0ld0ld") == 4


def test_a_stuck_rollout_fails_the_deploy_and_points_at_rollback(
    project: Path, standins: Path
) -> None:
    result = deploy(
        "k8s", "--yes", env=k8s_env(standins, STANDIN_STUCK="portal"), cwd=project, path=standins
    )
    assert result.returncode == 1
    assert "rollout status deployment/portal" in result.stderr
    assert "make rollback" in result.stderr
    assert calls(standins)[-1][-2:] == ["deployment/portal", "--timeout=300s"], "stops there"


def test_an_overlay_that_renames_an_image_is_refused_before_anything_runs(
    project: Path, standins: Path, tmp_path: Path
) -> None:
    staging = project / "deploy" / "k8s" / "overlays" / "staging" / "kustomization.yaml"
    staging.write_text(
        staging.read_text()
        + "images:\n  - name: directorybolt/services\n"
        + "    newName: elsewhere.example/directorybolt/services\n"
    )
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "commit", "-qam", "pin"], cwd=project, check=True)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    env = k8s_env(standins, TMPDIR=str(scratch))

    result = deploy("k8s", "--yes", env=env, cwd=project, path=standins)

    assert result.returncode == 1
    assert "do not run this release" in result.stderr
    assert "elsewhere.example/directorybolt/services" in result.stderr
    assert [c for c in calls(standins) if "push" in c or "apply" in c] == []
    assert list(scratch.iterdir()) == [], "the generated kustomization is removed"


def test_production_from_a_dirty_tree_is_refused(project: Path, standins: Path) -> None:
    (project / "deploy" / "k8s" / "base" / "portal.yaml").write_text("edited\n")
    result = deploy("k8s", "--yes", env=k8s_env(standins, "production"), cwd=project, path=standins)
    assert result.returncode == 2
    assert "refusing production from a tree with uncommitted changes" in result.stderr
    assert not any(c[0] == "supabase" or "push" in c for c in calls(standins))


def test_rollback_sets_each_deployment_back_to_its_previous_tag(
    standins: Path, tmp_path: Path
) -> None:
    running = cluster_file(tmp_path, "bad0bad0bad0", previous="900d900d900d")
    env = rollback_env(standins, running)

    result = deploy("rollback", "--yes", env=env, path=standins)

    assert result.returncode == 0, result.stdout + result.stderr
    ns = ["--context", "prod-eu", "--namespace", "directorybolt"]
    changes = []
    for name in DEPLOYMENTS:
        image = "worker" if name == "worker" else "services"
        changes += [
            ["kubectl", *ns, "set", "image", f"deployment/{name}",
             f"{name}={REGISTRY}/directorybolt/{image}:900d900d900d"],
            ["kubectl", *ns, "annotate", f"deployment/{name}",
             "directorybolt.com/previous-tag=bad0bad0bad0", "--overwrite"],
        ]  # fmt: skip
    assert calls(standins) == [
        ["kubectl", *ns, "get", "deployment", *DEPLOYMENTS, "--ignore-not-found", "-o", "json"],
        *changes,
        *(["kubectl", *ns, "rollout", "status", f"deployment/{n}", "--timeout=300s"]
          for n in DEPLOYMENTS),
    ]  # fmt: skip
    assert "database keeps its schema" in result.stdout


def test_rollback_without_a_recorded_tag_is_refused(standins: Path, tmp_path: Path) -> None:
    running = cluster_file(tmp_path, "bad0bad0bad0", previous=None)
    env = rollback_env(standins, running)
    result = deploy("rollback", "--yes", env=env, path=standins)
    assert result.returncode == 2
    assert "deployment/portal has no directorybolt.com/previous-tag annotation" in result.stderr
    assert [c for c in calls(standins) if "set" in c] == []
