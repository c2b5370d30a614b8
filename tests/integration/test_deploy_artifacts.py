"""deploy/: the Prometheus alert rules and scrape config pass promtool (syntax and the rule
unit tests), and the Grafana dashboard and the rules name only metrics a running
orchestrator really exports on /metrics."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml  # type: ignore[import-untyped]  # PyYAML arrives with schemathesis (dev)
from prometheus_client.parser import text_string_to_metric_families

from tests.support.orchestrator_harness import build, serve, wait_for

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
RULES = DEPLOY / "prometheus" / "alerts.yml"
DASHBOARD = DEPLOY / "grafana" / "directorybolt-orchestrator.json"
# Series Prometheus makes itself rather than scraping them.
PROMETHEUS_BUILTINS = {"up"}
METRIC_NAME = re.compile(r"\b(directorybolt_[a-zA-Z0-9_]+|up)\b")


def promtool(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("promtool")
    assert binary, "promtool missing: `make deps` installs Debian's prometheus package"
    return subprocess.run(
        [binary, *args], capture_output=True, text=True, cwd=cwd, timeout=120, check=False
    )


def dashboard_exprs() -> list[str]:
    dashboard: dict[str, Any] = json.loads(DASHBOARD.read_text())
    exprs = [
        str(target["expr"])
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
        if target.get("expr")
    ]
    assert exprs, "the dashboard has no queries"
    return exprs


def rule_exprs() -> list[str]:
    rules: dict[str, Any] = yaml.safe_load(RULES.read_text())
    return [str(rule["expr"]) for group in rules["groups"] for rule in group["rules"]]


def metric_names(expr: str) -> set[str]:
    # Label values and legends are not metric names: drop quoted strings first.
    return set(METRIC_NAME.findall(re.sub(r'"[^"]*"', '""', expr)))


@pytest.fixture
def exported_names(db_url: str) -> set[str]:
    """Every sample name a running orchestrator (real uvicorn, loops running) exports."""
    with serve(build(db_url)) as url, httpx.Client(base_url=url, timeout=10) as client:

        def complete() -> str | None:
            text = client.get("/metrics").text
            # Labelled gauges appear once the loops have run a round: wait for them.
            wanted = ("directorybolt_provider_degraded{", "directorybolt_background_loop_errors{")
            return text if all(name in text for name in wanted) else None

        text = wait_for(complete, timeout=20)
    names = {
        sample.name for family in text_string_to_metric_families(text) for sample in family.samples
    }
    assert names
    return names


def test_alert_rules_pass_promtool_check_and_their_unit_tests() -> None:
    checked = promtool("check", "rules", str(RULES))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = promtool("test", "rules", "alerts_test.yml", cwd=RULES.parent)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    config = promtool("check", "config", "prometheus.yml", cwd=RULES.parent)
    assert config.returncode == 0, config.stdout + config.stderr


def test_alert_rules_cover_the_dashboard_alert_conditions() -> None:
    rules: dict[str, Any] = yaml.safe_load(RULES.read_text())
    names = {rule["alert"] for group in rules["groups"] for rule in group["rules"]}
    for wanted in (
        "DirectoryBoltCaptchaProviderDown",
        "DirectoryBoltProxyPoolExhausted",
        "DirectoryBoltDatabaseOutage",
        "DirectoryBoltFailureRateJumped",
    ):
        assert wanted in names


def test_dashboard_queries_are_valid_promql(tmp_path: Path) -> None:
    # promtool has no "check expression"; recording rules are checked by the same parser.
    rules = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {"record": f"dashboard:query_{index}", "expr": expr}
                    for index, expr in enumerate(
                        expr.replace("$__rate_interval", "5m") for expr in dashboard_exprs()
                    )
                ],
            }
        ]
    }
    path = tmp_path / "dashboard_rules.yml"
    path.write_text(yaml.safe_dump(rules))
    checked = promtool("check", "rules", str(path))
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_dashboard_names_only_metrics_the_orchestrator_exports(exported_names: set[str]) -> None:
    used = set().union(*(metric_names(expr) for expr in dashboard_exprs()))
    assert {"directorybolt_queue_depth", "directorybolt_jobs_completed_total"} <= used
    missing = sorted(used - exported_names)
    assert not missing, f"the dashboard queries metrics the orchestrator does not export: {missing}"


def test_alert_rules_name_only_metrics_the_orchestrator_exports(exported_names: set[str]) -> None:
    used = set().union(*(metric_names(expr) for expr in rule_exprs()))
    missing = sorted(used - exported_names - PROMETHEUS_BUILTINS)
    assert not missing, f"the alert rules use metrics the orchestrator does not export: {missing}"


def test_the_name_check_would_catch_a_misspelt_metric(exported_names: set[str]) -> None:
    assert metric_names('sum(rate(directorybolt_atempts_total{outcome="x_y"}[5m]))') == {
        "directorybolt_atempts_total"
    }
    assert "directorybolt_atempts_total" not in exported_names
