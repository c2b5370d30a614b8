"""Issue 17 item 2, the canary, end to end: `python -m worker canary` (a real process, real
Chromium) against the real sandbox, reporting through a real orchestrator (uvicorn) to a
fresh database; staff re-verify in Chromium on the portal's /staff/directories.

  a. two rounds over the sandbox's enabled recipes with nothing changed: baselines stored
     (the scout's stored signatures, digest for digest), no drift, nothing submitted;
  b. one site redesigned between rounds (the sandbox's switch): the `recipe_drift` alert is
     raised once (a further round does not raise it again), the directory leaves new jobs and
     a running job that held it queued gets a replacement;
  c. staff re-verify it in Chromium: new jobs get it again;
  d. the orchestrator refuses the canary without the worker token, and a hostile recipe URL
     (before loading, or by a redirect while loading) is refused by the egress guard;
  e. a recipe that would send its form with a `click` sends nothing (the POST is aborted).

The sites whose failure is their behaviour (down, refused, slow, form gone, drifted,
rate-limited without a proxy) are the subject of their own test: they fail, each at its step.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from playwright.sync_api import expect

from dbolt.directories import load_directories, sync_directories
from dbolt.sql import Queries
from devstack import localdb
from devstack.sandbox import Settings
from devstack.sandbox.server import SandboxServer
from tests.support.browser import DESKTOP, chromium, signed_in_context
from tests.support.orchestrator_harness import WORKER_TOKEN, build, serve
from tests.support.queue_helpers import create_job
from tests.support.staff_stack import StaffStack, claim, staff_stack

ROOT = Path(__file__).resolve().parents[2]
SANDBOX_DEFAULT = "http://127.0.0.1:8400"
SIGNATURES = ROOT / "directories" / "signatures"
# Failing is what these sites do (devstack/sandbox/sites/failures.py, standard.py's drift):
# a canary must report each of them, and does (test_sites_built_to_fail_fail_at_their_step).
BUILT_TO_FAIL = {
    "sandbox-down": "step 1 (goto",
    "sandbox-refused": "step 1 (goto",
    "sandbox-form-gone": "step 1 (goto",
    "sandbox-drift": "step 2 (fill #biz-name)",
    "sandbox-slow": "step 1 (goto",
    # 429 unless the request came through one of our proxies; the canary uses none.
    "sandbox-ratelimited": "step 1 (goto",
}
REDESIGNED = "sandbox-plain"
Conn = psycopg.Connection[Any]


def _entries(sandbox_url: str) -> list[dict[str, Any]]:
    """directories.json's sandbox and lifecycle entries, pointed at this test's sandbox."""
    text = json.dumps(load_directories(ROOT / "directories.json"))
    entries: list[dict[str, Any]] = json.loads(text.replace(SANDBOX_DEFAULT, sandbox_url))
    return [e for e in entries if e["id"].startswith(("sandbox-", "lifecycle-"))]


def canary(
    orchestrator_url: str, sandbox_url: str, *args: str, **env: str
) -> subprocess.CompletedProcess[str]:
    sandbox_host = sandbox_url.removeprefix("http://")
    return subprocess.run(
        [sys.executable, "-m", "worker", "canary", *args],
        cwd=ROOT,
        env={
            **os.environ,
            "ENVIRONMENT": "development",
            "ORCHESTRATOR_URL": orchestrator_url,
            "WORKER_TOKEN": WORKER_TOKEN,
            # The sandbox is on loopback, which workers refuse unless allowed.
            "WORKER_ALLOWED_PRIVATE_HOSTS": f"{sandbox_host},127.0.0.1:2",
            "STEP_TIMEOUT_MS": "3000",
            "NAVIGATION_TIMEOUT_MS": "5000",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@dataclass
class Canary:
    stack: StaffStack
    sandbox_url: str
    checked: list[str]
    queries: Queries

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return canary(self.stack.orchestrator_url, self.sandbox_url, *args)

    def submissions(self) -> list[Any]:
        return list(httpx.get(f"{self.sandbox_url}/_admin/submissions").json())

    def sql(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.stack.db_url) as conn:
            return conn.execute(query, params).fetchall()


@pytest.fixture(scope="module")
def sandbox() -> Iterator[str]:
    with SandboxServer(Settings()) as server:
        yield server.url


@pytest.fixture(scope="module")
def stack(
    cluster: None, queries: Queries, sandbox: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Canary]:
    db_url = localdb.fresh(f"pytest_{os.getpid()}_canary")
    entries = [e for e in _entries(sandbox) if e["id"] not in BUILT_TO_FAIL]
    with psycopg.connect(db_url, autocommit=True) as conn:
        sync_directories(conn, entries)
        # A starter job takes 3 directories, the redesigned one first: the rest of the
        # catalogue is there to replace it.
        conn.execute("update tiers set directory_limit = 3 where name = 'starter'")
        conn.execute("update directories set priority = 0 where id = %s", (REDESIGNED,))
    checked = sorted(e["id"] for e in entries if e.get("enabled"))
    with staff_stack(db_url, tmp_path_factory.mktemp("artifacts"), http_server=True) as staff:
        yield Canary(staff, sandbox, checked, queries)


def _job_directories(conn: Conn, job_id: Any) -> dict[str, tuple[str, str | None, str | None]]:
    rows = conn.execute(
        "select directory_id, status::text, last_error_code, replaced_by from job_directories"
        " where job_id = %s",
        (job_id,),
    ).fetchall()
    return {row[0]: (row[1], row[2], row[3]) for row in rows}


def test_a_two_rounds_without_change_store_baselines_and_find_no_drift(stack: Canary) -> None:
    before = stack.submissions()
    first = stack.run()
    assert first.returncode == 0, first.stdout + first.stderr
    second = stack.run()
    assert second.returncode == 0, second.stdout + second.stderr
    assert stack.submissions() == before == []
    # What staff read, and how long a round takes (docs/recipes.md "Canary"): `pytest -s`.
    print(first.stdout + second.stdout)

    for directory_id in stack.checked:
        assert directory_id in first.stdout
    assert "first signature stored as its baseline" in first.stdout
    assert "form unchanged" in second.stdout
    assert "FAILED" not in first.stdout + second.stdout
    assert f"canary round: {len(stack.checked)} directories in " in second.stdout

    runs = stack.sql(
        "select directory_id, count(*), bool_and(ok), count(*) filter (where set_baseline),"
        " bool_or(raised_drift) from directory_canary_runs group by directory_id"
    )
    assert sorted(r[0] for r in runs) == stack.checked
    assert all(r[1:] == (2, True, 1, False) for r in runs), runs
    dirs = stack.sql(
        "select id, signature_digest, drifted_at from directories where id = any(%s)",
        stack.checked,
    )
    assert all(digest and drifted is None for _, digest, drifted in dirs)
    assert not stack.sql("select 1 from alerts where kind = 'recipe_drift'")
    # The canary reads the page the scout reads: a one-form site's digest is the stored one.
    for directory_id, digest, _ in dirs:
        stored = SIGNATURES / f"{directory_id}.json"
        if directory_id.startswith("sandbox-"):
            assert json.loads(stored.read_text())["digest"] == digest, directory_id


def test_b_a_redesigned_form_drifts_once_leaves_new_jobs_and_is_replaced(
    stack: Canary,
) -> None:
    with psycopg.connect(stack.stack.db_url, autocommit=True) as conn:
        running = create_job(conn, stack.queries)
        claimed = claim(conn, stack.queries)
        assert claimed["id"] == running
        held = _job_directories(conn, running)
    assert held[REDESIGNED] == ("queued", None, None)

    switched = httpx.post(f"{stack.sandbox_url}/_admin/redesign", params={"site": "plain"})
    assert switched.json() == {"redesigned": ["plain"]}
    try:
        drifted = stack.run()
        again = stack.run("--directory", REDESIGNED)
    finally:
        httpx.post(f"{stack.sandbox_url}/_admin/redesign", params={"site": "plain", "on": False})
    assert drifted.returncode == 1, drifted.stdout + drifted.stderr
    line = next(x for x in drifted.stdout.splitlines() if REDESIGNED in x)
    assert "FAILED at step 2 (fill #business-name)" in line
    assert "now out of new jobs until staff re-verify (1 job given a replacement)" in line
    assert [x for x in drifted.stdout.splitlines() if "FAILED" in x] == [line]
    assert again.returncode == 1
    assert "still out of new jobs (drifted before)" in again.stdout
    assert stack.submissions() == []

    # Raised once: one drift, one alert, one audit entry, over two failing rounds.
    assert stack.sql(
        "select count(*) filter (where raised_drift), count(*) filter (where not ok)"
        " from directory_canary_runs where directory_id = %s",
        REDESIGNED,
    ) == [(1, 2)]
    assert stack.sql(
        "select count(*) from audit_log where action = 'directory.drifted' and directory_id = %s",
        REDESIGNED,
    ) == [(1,)]
    alerts = stack.sql("select message, cleared_at from alerts where kind = 'recipe_drift'")
    assert len(alerts) == 1
    assert alerts[0][1] is None
    assert "Plainville Business Pages" in alerts[0][0]

    with psycopg.connect(stack.stack.db_url, autocommit=True) as conn:
        now = _job_directories(conn, running)
        status, code, replaced_by = now[REDESIGNED]
        assert (status, code) == ("skipped", "recipe_drift")
        assert replaced_by is not None
        assert now[replaced_by][0] == "queued"
        fresh = create_job(conn, stack.queries)
        assert REDESIGNED not in _job_directories(conn, fresh)
        assert len(_job_directories(conn, fresh)) == 3


def test_c_staff_reverify_in_chromium_brings_it_back(stack: Canary) -> None:
    token = stack.stack.staff_token()
    with chromium() as browser:
        context = signed_in_context(browser, stack.stack.portal_url, token, DESKTOP)
        page = context.new_page()
        page.goto(f"{stack.stack.portal_url}/staff/directories")
        row = page.locator(f"#dir-{REDESIGNED}")
        expect(row).to_have_attribute("data-state", "drifted")
        row.get_by_role("button", name="Re-verify Sandbox: Plainville Business Pages").click()
        page.wait_for_url("**/staff/directories?done=reverify*")
        expect(page.locator(f"#dir-{REDESIGNED}")).to_have_attribute("data-state", "enabled")
        context.close()
    with psycopg.connect(stack.stack.db_url, autocommit=True) as conn:
        assert conn.execute(
            "select drifted_at from directories where id = %s", (REDESIGNED,)
        ).fetchone() == (None,)
        job = create_job(conn, stack.queries)
        assert _job_directories(conn, job)[REDESIGNED] == ("queued", None, None)
        assert conn.execute(
            "select count(*) from alerts where kind = 'recipe_drift' and cleared_at is null"
        ).fetchone() == (0,)


def test_d_the_orchestrator_refuses_the_canary_without_the_worker_token(stack: Canary) -> None:
    url = stack.stack.orchestrator_url
    report = {"directory_id": REDESIGNED, "failed_step": "step 1", "error": "forged"}
    assert httpx.get(f"{url}/canary/directories").status_code == 401
    wrong = {"Authorization": "Bearer not-the-worker-token"}
    assert httpx.get(f"{url}/canary/directories", headers=wrong).status_code == 403
    assert httpx.post(f"{url}/canary-runs/{REDESIGNED}", json=report).status_code == 401
    assert (
        httpx.post(f"{url}/canary-runs/{REDESIGNED}", json=report, headers=wrong).status_code == 403
    )
    refused = canary(url, stack.sandbox_url, WORKER_TOKEN="not-the-worker-token")
    assert refused.returncode == 2
    assert "could not run" in refused.stderr
    assert stack.sql("select count(*) from directory_canary_runs where error = 'forged'") == [(0,)]


class _Recorder(BaseHTTPRequestHandler):
    """A local server: records every request; `/go` redirects to `self.server.target`."""

    def do_GET(self) -> None:
        server: Any = self.server
        server.seen.append(self.path)
        if self.path.startswith("/go"):
            self.send_response(302)
            self.send_header("Location", server.target)
        else:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
        self.end_headers()
        if not self.path.startswith("/go"):
            self.wfile.write(b"<form><input id='biz-name'></form>")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def servers() -> Iterator[list[Any]]:
    made: list[Any] = []
    for _ in range(2):
        server: Any = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
        server.seen = []
        threading.Thread(target=server.serve_forever, daemon=True).start()
        made.append(server)
    yield made
    for server in made:
        server.shutdown()
        server.server_close()


def test_d_a_hostile_recipe_url_is_refused_by_the_egress_guard(
    cluster: None, sandbox: str, servers: list[Any], tmp_path: Path
) -> None:
    """An internal service (a loopback port nobody allowed), the metadata address, and an
    allowed site that redirects to the internal service: none is reached, each is a failed
    step."""
    allowed, internal = servers
    internal_url = f"http://127.0.0.1:{internal.server_address[1]}/admin"
    allowed.target = internal_url
    plain = next(e for e in _entries(sandbox) if e["id"] == "sandbox-plain")
    hostile = {
        "hostile-internal": internal_url,
        "hostile-metadata": "http://169.254.169.254/latest/meta-data/",
        "hostile-redirect": f"http://127.0.0.1:{allowed.server_address[1]}/go",
    }
    entries = [
        plain | {"id": name, "name": name, "homepage": url, "submit_url": url}
        for name, url in hostile.items()
    ]
    db_url = localdb.fresh(f"pytest_{os.getpid()}_canary_hostile")
    with psycopg.connect(db_url, autocommit=True) as conn:
        sync_directories(conn, entries)
    with serve(build(db_url)) as orchestrator_url:
        result = canary(
            orchestrator_url,
            sandbox,
            WORKER_ALLOWED_PRIVATE_HOSTS=f"127.0.0.1:{allowed.server_address[1]}",
        )
    assert result.returncode == 1, result.stdout + result.stderr
    assert internal.seen == []
    assert allowed.seen == ["/go"]
    lines = {name: next(x for x in result.stdout.splitlines() if name in x) for name in hostile}
    for line in lines.values():
        assert "FAILED at step 1 (goto {submit_url})" in line, line
    assert "refused" in lines["hostile-internal"]
    assert "refused" in lines["hostile-metadata"]
    assert "egress guard" in lines["hostile-redirect"], lines["hostile-redirect"]


def test_sites_built_to_fail_fail_at_their_step(cluster: None, sandbox: str) -> None:
    entries = [e for e in _entries(sandbox) if e["id"] in BUILT_TO_FAIL]
    db_url = localdb.fresh(f"pytest_{os.getpid()}_canary_failing")
    with psycopg.connect(db_url, autocommit=True) as conn:
        sync_directories(conn, entries)
    before = httpx.get(f"{sandbox}/_admin/submissions").json()
    with serve(build(db_url)) as orchestrator_url:
        result = canary(orchestrator_url, sandbox)
    assert result.returncode == 1, result.stdout + result.stderr
    for directory_id, step in BUILT_TO_FAIL.items():
        line = next(x for x in result.stdout.splitlines() if directory_id in x)
        assert f"FAILED at {step}" in line, line
    assert httpx.get(f"{sandbox}/_admin/submissions").json() == before


def test_a_click_that_would_post_the_form_sends_nothing(cluster: None, sandbox: str) -> None:
    """A recipe that sends its form with a `click` instead of `submit` (the dry run stops only
    at `submit`): the browser aborts the POST, so the sandbox records nothing."""
    plain = next(e for e in _entries(sandbox) if e["id"] == "sandbox-plain")
    steps = plain["recipe"]["steps"]
    clicking = [
        {"action": "click", "selector": s["selector"]} if s["action"] == "submit" else s
        for s in steps
        if s["action"] != "expect"
    ]
    entry = plain | {"id": "sandbox-clicker", "recipe": {"steps": clicking}}
    db_url = localdb.fresh(f"pytest_{os.getpid()}_canary_clicker")
    with psycopg.connect(db_url, autocommit=True) as conn:
        sync_directories(conn, [entry])
    before = httpx.get(f"{sandbox}/_admin/submissions").json()
    with serve(build(db_url)) as orchestrator_url:
        result = canary(orchestrator_url, sandbox)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 request held back, nothing sent" in result.stdout
    assert httpx.get(f"{sandbox}/_admin/submissions").json() == before
