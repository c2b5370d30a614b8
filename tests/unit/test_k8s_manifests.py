"""Invariants of the Kubernetes manifests (deploy/k8s), checked on every rendered overlay:
what KEDA scales, what the worker can reach, that every variable a container gets is one its
settings read and that production's settings accept them, grace periods, pod security."""

from __future__ import annotations

import ast
import copy
import inspect
import ipaddress
import json
import re
import secrets
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from dbolt.orchestrator_client import OrchestratorClient
from dbolt.settings import InsecureProductionSettings, ServiceSettings
from dbolt.vault import new_key_spec
from orchestrator.metrics import Metrics, QueueSnapshot
from orchestrator.settings import OrchestratorSettings
from portal.settings import PortalSettings
from tests.support.k8s_render import (
    K8S_DIR,
    OVERLAYS,
    Resource,
    container_env,
    containers,
    find,
    of_kind,
    render,
)
from webhook.settings import WebhookSettings
from worker import job_runner
from worker.settings import WorkerSettings

SETTINGS: dict[str, type[ServiceSettings]] = {
    "orchestrator": OrchestratorSettings,
    "webhook": WebhookSettings,
    "portal": PortalSettings,
    "worker": WorkerSettings,
}
# The scouts (scouts.yaml) run the worker's image with the worker's settings and config.
DEPLOYMENTS = {*SETTINGS, "scouts"}
DATABASE_PORTS = {5432, 6543}  # Postgres, and Supabase's transaction pooler
SCHEMA = json.loads((K8S_DIR / "schemas" / "keda-scaledobject.schema.json").read_text())


@pytest.fixture(scope="module", params=OVERLAYS)
def overlay(request: pytest.FixtureRequest) -> tuple[str, list[Resource]]:
    return request.param, render(request.param)


def _env(resources: list[Resource], service: str) -> Any:
    (container,) = find(resources, "Deployment", service)["spec"]["template"]["spec"]["containers"]
    return container_env(resources, container)


def test_every_overlay_has_the_five_deployments(overlay: tuple[str, list[Resource]]) -> None:
    _, resources = overlay
    assert {d["metadata"]["name"] for d in of_kind(resources, "Deployment")} == DEPLOYMENTS
    assert {r["metadata"]["namespace"] for r in resources if r["kind"] != "Namespace"} == {
        "directorybolt"
    }
    assert find(resources, "Deployment", "orchestrator")["spec"]["replicas"] >= 2


def test_the_scaledobject_targets_the_worker_deployment(
    overlay: tuple[str, list[Resource]],
) -> None:
    _, resources = overlay
    (scaled,) = of_kind(resources, "ScaledObject")
    target = scaled["spec"]["scaleTargetRef"]
    assert (target["apiVersion"], target["kind"], target["name"]) == (
        "apps/v1",
        "Deployment",
        "worker",
    )
    find(resources, "Deployment", "worker")
    jsonschema.validate(scaled, SCHEMA)


def test_keda_replica_bounds_equal_the_orchestrators_autoscale_bounds(
    overlay: tuple[str, list[Resource]],
) -> None:
    _, resources = overlay
    (scaled,) = of_kind(resources, "ScaledObject")
    settings = OrchestratorSettings.model_fields
    values = _env(resources, "orchestrator").values
    low = int(values.get("AUTOSCALE_MIN_WORKERS", settings["autoscale_min_workers"].default))
    high = int(values.get("AUTOSCALE_MAX_WORKERS", settings["autoscale_max_workers"].default))
    assert (scaled["spec"]["minReplicaCount"], scaled["spec"]["maxReplicaCount"]) == (low, high)
    # replicas = ceil(desired_workers / 1): the metric is the replica count itself.
    (trigger,) = scaled["spec"]["triggers"]
    assert trigger["metricType"] == "AverageValue"
    assert float(trigger["metadata"]["targetValue"]) == 1.0
    assert trigger["metadata"]["valueLocation"] == "directorybolt_desired_workers"


def test_the_scaledobject_reads_a_gauge_the_orchestrator_exports(
    overlay: tuple[str, list[Resource]],
) -> None:
    _, resources = overlay
    (scaled,) = of_kind(resources, "ScaledObject")
    (trigger,) = scaled["spec"]["triggers"]
    assert trigger["metadata"]["format"] == "prometheus"
    assert trigger["metadata"]["url"].endswith(":8100/metrics")
    # KEDA's prometheus format takes the family named by valueLocation and its first series
    # matching the selector's labels: ours must be one unlabelled gauge holding the value.
    exposition = generate_latest(Metrics(QueueSnapshot(desired_workers=7)).registry).decode()
    (family,) = [
        f
        for f in text_string_to_metric_families(exposition)
        if f.name == trigger["metadata"]["valueLocation"]
    ]
    assert family.type == "gauge"
    assert [(sample.labels, sample.value) for sample in family.samples] == [({}, 7.0)]


def _at(document: Any, path: list[str]) -> Any:
    for key in path:
        document = document[int(key)] if isinstance(document, list) else document[key]
    return document


def _object_paths(document: Any, path: list[str] | None = None) -> list[list[str]]:
    """The path to every object in the document, except free-form maps (labels)."""
    path = path or []
    found: list[list[str]] = []
    if isinstance(document, dict):
        found.append(path)
        for key, value in document.items():
            if key not in ("labels", "annotations"):
                found += _object_paths(value, [*path, key])
    elif isinstance(document, list):
        for index, value in enumerate(document):
            found += _object_paths(value, [*path, str(index)])
    return found


def test_a_misspelt_scaledobject_field_fails_our_schema(
    overlay: tuple[str, list[Resource]],
) -> None:
    _, resources = overlay
    (scaled,) = of_kind(resources, "ScaledObject")
    misspellings: list[tuple[list[str], str, str]] = [
        (["spec"], "maxReplicaCount", "maxReplicasCount"),
        (["spec"], "pollingInterval", "pollingIntervall"),
        (["spec", "triggers", "0"], "metricType", "metric_type"),
        (["spec", "scaleTargetRef"], "name", "nmae"),
        (["spec", "advanced", "horizontalPodAutoscalerConfig"], "behavior", "behaviour"),
    ]
    for path, right, wrong in misspellings:
        broken = copy.deepcopy(scaled)
        node = _at(broken, path)
        node[wrong] = node.pop(right)
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(broken, SCHEMA)
    # An optional field misspelt is an unknown key: refused at every level of the object.
    for path in _object_paths(scaled):
        broken = copy.deepcopy(scaled)
        _at(broken, path)["optionalFieldMisspelt"] = "1"
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(broken, SCHEMA)
    broken = copy.deepcopy(scaled)
    broken["spec"]["triggers"][0]["metadata"]["format"] = "promethus"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, SCHEMA)


def _looks_like_postgres(value: str) -> bool:
    return bool(re.match(r"^\s*postgres(ql)?(\+\w+)?://", value)) or "dbname=" in value


def test_the_worker_has_no_database_url(overlay: tuple[str, list[Resource]]) -> None:
    _, resources = overlay
    env = _env(resources, "worker")
    assert "DATABASE_URL" not in env.names
    assert not [name for name, value in env.values.items() if _looks_like_postgres(value)]
    assert not [name for name in env.secret_keys if "DATABASE" in name]


def _allowed_ports(rule: dict[str, Any]) -> list[tuple[int, int]]:
    ranges = []
    for port in rule.get("ports") or [{}]:
        if "port" not in port:
            ranges.append((1, 65535))  # a rule without a port allows every port
        else:
            ranges.append((int(port["port"]), int(port.get("endPort", port["port"]))))
    return ranges


def _private_ranges_excepted(block: dict[str, Any]) -> bool:
    cidr = ipaddress.ip_network(block["cidr"])
    excepted = [ipaddress.ip_network(e) for e in block.get("except", [])]
    private = (
        ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "127.0.0.0/8"]
        if cidr.version == 4
        else ["fc00::/7", "fe80::/10", "::1/128"]
    )
    return all(
        any(ipaddress.ip_network(p).subnet_of(e) for e in excepted)  # type: ignore[arg-type]
        for p in private
        if ipaddress.ip_network(p).overlaps(cidr)
    )


def _selects(policy: Resource, name: str) -> bool:
    """Whether the policy's podSelector picks pods named `name` (matchLabels or an `In`)."""
    selector = policy["spec"]["podSelector"]
    if selector.get("matchLabels", {}).get("app.kubernetes.io/name") == name:
        return True
    return any(
        e["key"] == "app.kubernetes.io/name" and e["operator"] == "In" and name in e["values"]
        for e in selector.get("matchExpressions", [])
    )


# The canary's CronJob pods (canary.yaml) and the scouts (scouts.yaml) drive the same browser.
@pytest.mark.parametrize("pods", ["worker", "canary", "scouts"])
def test_the_workers_egress_never_reaches_a_database_port(
    overlay: tuple[str, list[Resource]], pods: str
) -> None:
    _, resources = overlay
    policies = [
        p
        for p in of_kind(resources, "NetworkPolicy")
        if "Egress" in p["spec"].get("policyTypes", []) and _selects(p, pods)
    ]
    assert policies, f"the {pods} has no egress policy, so its egress is unrestricted"
    for policy in policies:
        for rule in policy["spec"]["egress"]:
            for low, high in _allowed_ports(rule):
                assert not any(low <= port <= high for port in DATABASE_PORTS), rule
            for peer in rule.get("to", []):
                if "ipBlock" in peer:
                    assert _private_ranges_excepted(peer["ipBlock"]), peer
                else:
                    # Inside the cluster only the orchestrator.
                    assert peer == {
                        "podSelector": {"matchLabels": {"app.kubernetes.io/name": "orchestrator"}}
                    }, peer


def test_every_variable_set_is_a_field_of_that_services_settings(
    overlay: tuple[str, list[Resource]],
) -> None:
    _, resources = overlay
    for service, settings in SETTINGS.items():
        fields = {name.upper() for name in settings.model_fields}
        unknown = _env(resources, service).names - fields
        assert not unknown, f"{service} gets variables its settings never read: {unknown}"


def test_secret_refs_are_the_services_own_secret_and_listed_in_the_example(
    overlay: tuple[str, list[Resource]],
) -> None:
    _, resources = overlay
    listed = _example_secret_keys()
    assert not of_kind(resources, "Secret"), "a Secret object in git"
    for service in SETTINGS:
        refs = _env(resources, service).secret_keys
        assert {secret for secret, _ in refs.values()} == {f"directorybolt-{service}"}
        assert all(name == key for name, (_, key) in refs.items())
        assert set(refs) == listed[service]


def _example_secret_keys() -> dict[str, set[str]]:
    listed: dict[str, set[str]] = {}
    current: set[str] = set()
    for line in (K8S_DIR / "secrets.example.env").read_text().splitlines():
        heading = re.match(r"# --- directorybolt-(\w+) ---", line)
        if heading:
            current = listed.setdefault(heading.group(1), set())
        elif line and not line.startswith("#"):
            name, _, value = line.partition("=")
            assert not value, f"a value for {name} in secrets.example.env"
            current.add(name)
    return listed


def _placeholder(name: str, live_mode: bool) -> str:
    """A realistic secret of the right shape, never a local default. Stripe's is the kind of
    key the environment is given: live keys in production, test keys in staging."""
    password = secrets.token_urlsafe(18)
    shapes = {
        "DATABASE_URL": f"postgresql://app.ref:{password}@aws-0-eu-west-1.pooler.supabase.com:6543/postgres",
        "SMTP_URL": f"smtp://alerts:{password}@smtp.mailprovider.example.net:587",
        "PROXY_URLS": f"http://user:{password}@proxy1.provider.example.net:8080",
        "STRIPE_SECRET_KEY": ("sk_live_" if live_mode else "sk_test_") + password,
        "VAULT_KEYS": new_key_spec("k1"),
    }
    return shapes.get(name, password)


@pytest.mark.parametrize("overlay_name", ["staging", "production"])
def test_production_settings_accept_each_services_manifest(
    overlay_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    resources = render(overlay_name)
    for service, settings in SETTINGS.items():
        env = _env(resources, service)
        assert env.values.get("ENVIRONMENT", "production") == "production"
        with monkeypatch.context() as patched:
            for field in settings.model_fields:
                patched.delenv(field.upper(), raising=False)
            for name, value in env.values.items():
                patched.setenv(name, value)
            for name in env.secret_keys:
                patched.setenv(name, _placeholder(name, live_mode=overlay_name == "production"))
            try:
                settings(_env_file=None)
            except InsecureProductionSettings as refused:
                pytest.fail(f"{overlay_name}/{service}: {refused.problems}")


def _setting(values: dict[str, str], settings: type[ServiceSettings], name: str) -> float:
    default = settings.model_fields[name].default
    return float(values.get(name.upper(), str(default)))


def _flush_max_wait() -> float:
    """The max_wait job_runner passes to flush_until_empty before releasing."""
    tree = ast.parse(Path(inspect.getfile(job_runner)).read_text())
    waits = [
        keyword.value.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "flush_until_empty"
        for keyword in node.keywords
        if keyword.arg == "max_wait" and isinstance(keyword.value, ast.Constant)
    ]
    assert len(waits) == 1, "job_runner's flush before release changed: recheck the grace"
    (wait,) = waits
    assert isinstance(wait, int | float), wait
    return float(wait)


def test_the_workers_grace_outlasts_stop_grace_an_attempt_and_the_release(
    overlay: tuple[str, list[Resource]],
) -> None:
    _, resources = overlay
    values = _env(resources, "worker").values
    attempt = (
        _setting(values, WorkerSettings, "captcha_timeout_seconds")
        + _setting(values, WorkerSettings, "navigation_timeout_ms") / 1000
        + _setting(values, WorkerSettings, "step_timeout_ms") / 1000
    )
    release_timeout = inspect.signature(OrchestratorClient.connect).parameters["timeout"].default
    needed = (
        _setting(values, WorkerSettings, "stop_grace_seconds")
        + attempt
        + _flush_max_wait()
        + float(release_timeout)
    )
    spec = find(resources, "Deployment", "worker")["spec"]["template"]["spec"]
    assert spec["terminationGracePeriodSeconds"] > needed


def test_every_pod_and_container_is_locked_down(overlay: tuple[str, list[Resource]]) -> None:
    _, resources = overlay
    for deployment in of_kind(resources, "Deployment"):
        name = deployment["metadata"]["name"]
        spec = deployment["spec"]["template"]["spec"]
        assert spec["automountServiceAccountToken"] is False, name
        pod = spec["securityContext"]
        assert pod["runAsNonRoot"] is True, name
        assert (pod["runAsUser"], pod["runAsGroup"]) == (10001, 10001), name
        assert pod["seccompProfile"] == {"type": "RuntimeDefault"}, name
        for container in containers(deployment):
            ctx = container["securityContext"]
            assert ctx["runAsNonRoot"] is True, name
            assert (ctx["runAsUser"], ctx["runAsGroup"]) == (10001, 10001), name
            assert ctx["readOnlyRootFilesystem"] is True, name
            assert ctx["allowPrivilegeEscalation"] is False, name
            assert ctx["capabilities"] == {"drop": ["ALL"]}, name
            assert ctx["seccompProfile"] == {"type": "RuntimeDefault"}, name
            assert "privileged" not in ctx or ctx["privileged"] is False, name
            mounts = {m["mountPath"] for m in container.get("volumeMounts", [])}
            assert "/tmp" in mounts, f"{name}: HOME=/tmp on a read-only root"  # noqa: S108
            assert {"requests", "limits"} <= set(container["resources"]), name


def test_every_deployment_probes_healthz(overlay: tuple[str, list[Resource]]) -> None:
    _, resources = overlay
    for deployment in of_kind(resources, "Deployment"):
        name = deployment["metadata"]["name"]
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        env = container_env(resources, container).values
        for probe_kind in ("readinessProbe", "livenessProbe"):
            probe = container[probe_kind]
            if "httpGet" in probe:
                assert probe["httpGet"]["path"] == "/healthz", name
                (port,) = [p for p in container["ports"] if p["name"] == probe["httpGet"]["port"]]
                assert str(port["containerPort"]) == env["PORT"], name
            else:
                # The worker's health server listens on 127.0.0.1:HEALTH_PORT only.
                command = " ".join(probe["exec"]["command"])
                assert "/healthz" in command, name
                assert 'os.environ["HEALTH_PORT"]' in command, name
                assert "HEALTH_PORT" in env, name


def test_every_deployment_has_a_disruption_budget(overlay: tuple[str, list[Resource]]) -> None:
    _, resources = overlay
    budgets = {b["metadata"]["name"]: b["spec"] for b in of_kind(resources, "PodDisruptionBudget")}
    # Not the scouts: one replica whose scout another pod takes up after its lease, so an
    # eviction costs one retry, which a budget would only trade for a stuck node drain.
    assert set(budgets) == DEPLOYMENTS - {"scouts"}
    assert budgets["orchestrator"]["minAvailable"] == 1


# --- the canary's CronJob (deploy/k8s/base/canary.yaml) ---------------------------------------


def _canary(resources: list[Resource]) -> tuple[Resource, Resource]:
    cronjob = find(resources, "CronJob", "canary")
    (container,) = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    return cronjob, container


def test_the_canary_runs_one_round_from_the_worker_image_on_a_schedule(
    overlay: tuple[str, list[Resource]],
) -> None:
    _, resources = overlay
    cronjob, container = _canary(resources)
    (worker,) = find(resources, "Deployment", "worker")["spec"]["template"]["spec"]["containers"]
    assert container["image"] == worker["image"]
    assert container["command"] == ["python", "-m", "worker", "canary"]
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    assert cronjob["spec"]["jobTemplate"]["spec"]["backoffLimit"] == 0
    # Every 6 hours, CANARY_INTERVAL_SECONDS' default (what `--repeat` waits between rounds).
    minute, hour, *rest = cronjob["spec"]["schedule"].split()
    assert minute.isdigit()
    assert rest == ["*", "*", "*"]
    interval = WorkerSettings.model_fields["canary_interval_seconds"].default
    assert hour == f"*/{int(interval // 3600)}"
    labels = cronjob["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
    assert labels["app.kubernetes.io/name"] == "canary"


def test_the_canary_has_the_workers_settings_and_no_database(
    overlay: tuple[str, list[Resource]],
) -> None:
    _, resources = overlay
    _, container = _canary(resources)
    env = container_env(resources, container)
    fields = {name.upper() for name in WorkerSettings.model_fields}
    assert env.names <= fields, env.names - fields
    assert "DATABASE_URL" not in env.names
    assert not [name for name, value in env.values.items() if _looks_like_postgres(value)]
    assert env.secret_keys == {"WORKER_TOKEN": ("directorybolt-worker", "WORKER_TOKEN")}


def test_the_canary_pod_is_locked_down_and_may_reach_the_orchestrator(
    overlay: tuple[str, list[Resource]],
) -> None:
    _, resources = overlay
    cronjob, container = _canary(resources)
    spec = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert spec["automountServiceAccountToken"] is False
    assert spec["securityContext"]["runAsNonRoot"] is True
    ctx = container["securityContext"]
    assert ctx["readOnlyRootFilesystem"] is True
    assert ctx["allowPrivilegeEscalation"] is False
    assert ctx["capabilities"] == {"drop": ["ALL"]}
    assert "/tmp" in {m["mountPath"] for m in container["volumeMounts"]}  # noqa: S108
    ingress = find(resources, "NetworkPolicy", "orchestrator-ingress")["spec"]["ingress"]
    peers = [peer for rule in ingress for peer in rule["from"]]
    assert {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "canary"}}} in peers


# --- the scouts (deploy/k8s/base/scouts.yaml) -------------------------------------------------


def test_the_scouts_run_from_the_worker_image_locked_down_with_no_database(
    overlay: tuple[str, list[Resource]],
) -> None:
    _, resources = overlay
    deployment = find(resources, "Deployment", "scouts")
    spec = deployment["spec"]["template"]["spec"]
    [container] = spec["containers"]
    assert container["command"] == ["python", "-m", "worker", "scouts"]
    assert spec["automountServiceAccountToken"] is False
    ctx = container["securityContext"]
    assert ctx["readOnlyRootFilesystem"] is True
    assert ctx["capabilities"] == {"drop": ["ALL"]}
    env = container_env(resources, container)
    fields = {name.upper() for name in WorkerSettings.model_fields}
    assert env.names <= fields, env.names - fields
    assert "DATABASE_URL" not in env.names
    assert env.secret_keys == {"WORKER_TOKEN": ("directorybolt-worker", "WORKER_TOKEN")}
    ingress = find(resources, "NetworkPolicy", "orchestrator-ingress")["spec"]["ingress"]
    peers = [peer for rule in ingress for peer in rule["from"]]
    assert {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "scouts"}}} in peers
