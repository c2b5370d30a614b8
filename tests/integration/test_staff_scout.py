"""Scouting from the staff dashboard (issue 17, items 1 and 5), over HTTP against the real
portal app, a real orchestrator (uvicorn) and this test's fresh database: staff ask for a
scout at /staff/scout, the worker-side process (worker/scout/queue.py, in-process here) takes
it through the orchestrator with the worker token, scouts the devstack sandbox in real
Chromium and posts the report; the page then shows it. Hostile URLs are refused by the
worker and shown to staff with the reason. A saved draft becomes a disabled entry whose
export round-trips through validate_document and survives a sync; a sync that changes a
recipe shows its diff of steps on the directory's page.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg.types.json import Jsonb

from dbolt import cli
from dbolt.directories import load_directories, sync_directories, validate_document
from dbolt.sql import Queries
from devstack.sandbox import Settings as SandboxSettings
from devstack.sandbox.server import SandboxServer
from tests.support.loopback_server import redirect_to, serving
from tests.support.orchestrator_harness import WORKER, WORKER_TOKEN
from tests.support.portal_harness import PORTAL_URL
from tests.support.staff_stack import STAFF_EMAIL, StaffStack, staff_stack
from worker.scout import queue

Conn = psycopg.Connection[Any]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[str]:
    with SandboxServer(SandboxSettings()) as server:
        yield server.url


@pytest.fixture
def stack(db_url: str, tmp_path: Path) -> Iterator[StaffStack]:
    with staff_stack(db_url, tmp_path / "artifacts") as running:
        yield running


@pytest.fixture
def client(stack: StaffStack) -> Iterator[TestClient]:
    with TestClient(stack.app, base_url=PORTAL_URL, follow_redirects=False) as test_client:
        test_client.cookies.set("dbolt_access", stack.staff_token())
        yield test_client


def run_worker(stack: StaffStack, sandbox: str, monkeypatch: pytest.MonkeyPatch, *also: str) -> int:
    """`python -m worker scouts --once` in this process: drains the queued scouts. `also`:
    more origins the allow-list lets the worker reach (a test's own hostile page)."""
    monkeypatch.setenv("ENVIRONMENT", "development")
    monkeypatch.setenv("ORCHESTRATOR_URL", stack.orchestrator_url)
    monkeypatch.setenv("WORKER_TOKEN", WORKER_TOKEN)
    monkeypatch.setenv("WORKER_ID", "scout-worker-1")
    monkeypatch.setenv("ARTIFACTS_DIR", str(stack.artifacts_dir))
    # Development's allow-list: the sandbox only, as `make up` sets it.
    hosts = [origin.split("://", 1)[1] for origin in (sandbox, *also)]
    monkeypatch.setenv("WORKER_ALLOWED_PRIVATE_HOSTS", ",".join(hosts))
    return asyncio.run(queue.serve(once=True, interval_seconds=0.1))


def request_scout(client: TestClient, url: str) -> int:
    response = client.post("/staff/scout", data={"url": url})
    assert response.status_code == 303, response.text
    match = re.fullmatch(r"/staff/scout/(\d+)", response.headers["location"])
    assert match
    return int(match.group(1))


def sandbox_record(sandbox: str) -> Any:
    with httpx.Client(base_url=sandbox) as http:
        return http.get("/_admin/submissions").json(), http.get("/_admin/lifecycle").json()


def test_only_staff_reach_the_scout_pages(stack: StaffStack, conn: Conn) -> None:
    with TestClient(stack.app, base_url=PORTAL_URL, follow_redirects=False) as anonymous:
        assert anonymous.get("/staff/scout").status_code == 303
        assert anonymous.post("/staff/scout", data={"url": "https://x.example/"}).status_code == 303
        anonymous.cookies.set("dbolt_access", stack.customer_token())
        assert anonymous.get("/staff/scout", headers={"Accept": "text/html"}).status_code == 403
        assert anonymous.post("/staff/scout", data={"url": "https://x.example/"}).status_code == 403
        assert anonymous.get("/staff/directories/sandbox-plain").status_code == 403
    assert conn.execute("select count(*) from directory_scouts").fetchone() == (0,)
    # And the worker endpoints want the worker token.
    with httpx.Client(base_url=stack.orchestrator_url) as http:
        assert http.post("/scouts/next", json={"worker_id": "w"}).status_code == 401
        wrong = {"Authorization": "Bearer nope"}
        assert http.post("/scouts/next", json={"worker_id": "w"}, headers=wrong).status_code == 403
        assert http.post("/scouts/next", json={"worker_id": "w"}, headers=WORKER).status_code == 204


def test_a_scout_is_queued_taken_by_the_worker_and_shown(
    stack: StaffStack,
    client: TestClient,
    conn: Conn,
    sandbox: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = sandbox_record(sandbox)
    plain = request_scout(client, f"{sandbox}/plain/submit")
    wall = request_scout(client, f"{sandbox}/login-wall/submit")
    page = client.get(f"/staff/scout/{plain}")
    assert page.status_code == 200
    assert 'data-status="queued"' in page.text
    assert f'data-status-url="/staff/scout/{plain}/status"' in page.text, "it polls while waiting"
    assert client.get(f"/staff/scout/{plain}/status").json() == {"status": "queued"}
    listing = client.get("/staff/scout").text
    assert f'data-scout-id="{plain}" data-status="queued"' in listing

    assert run_worker(stack, sandbox, monkeypatch) == 0
    assert sandbox_record(sandbox) == before, "nothing was submitted to the sandbox"

    rows = conn.execute(
        "select id, status, worker_id, screenshots from directory_scouts order by id"
    ).fetchall()
    assert [(r[0], r[1], r[2]) for r in rows] == [
        (plain, "done", "scout-worker-1"),
        (wall, "done", "scout-worker-1"),
    ]
    assert rows[0][3] == [f"scouts/{plain}/step-1.png"]
    assert (stack.artifacts_dir / "scouts" / str(plain) / "step-1.png").is_file()

    page = client.get(f"/staff/scout/{plain}")
    text = page.text
    assert 'data-status="done"' in text
    assert client.get(f"/staff/scout/{plain}/status").json() == {"status": "done"}
    assert "No wall: the form is open to anyone." in text
    assert 'data-captcha="none"' in text
    fields = re.search(r'<table class="stack" id="scout-fields">.*?</table>', text, re.S)
    assert fields
    # sandbox-plain's listing form (devstack/sandbox/sites/standard.py PLAIN_FIELDS).
    assert re.search(
        r'data-field="business_name"><td data-label="Label" class="wide">[^<]+</td>'
        r"<td data-label=\"Name\"><code>business_name</code></td><td data-label=\"Type\">text</td>"
        r'<td data-label="Required">required</td>',
        fields.group(0),
    ), fields.group(0)
    assert "0 required fields not mapped." in text
    recipe = re.search(r'<pre class="json" id="scout-recipe"[^>]*>(.*?)</pre>', text, re.S)
    assert recipe
    steps = json.loads(html.unescape(recipe.group(1)))["steps"]
    assert steps[0] == {"action": "goto", "url": "{submit_url}"}
    assert any(s.get("value") == "business_name" for s in steps)
    shot = client.get(f"/staff/scout/{plain}/screenshots/0")
    assert shot.status_code == 200
    assert shot.headers["content-type"] == "image/png"
    assert shot.content.startswith(b"\x89PNG")
    assert client.get(f"/staff/scout/{plain}/screenshots/1").status_code == 404

    walled = client.get(f"/staff/scout/{wall}").text
    assert "a login wall: the form shows only to a signed-in account" in walled

    audit = conn.execute(
        "select actor, action, to_status from audit_log where action like 'directory.scout%%'"
        " order by id"
    ).fetchall()
    assert audit == [
        (f"staff:{STAFF_EMAIL}", "directory.scout_requested", "queued"),
        (f"staff:{STAFF_EMAIL}", "directory.scout_requested", "queued"),
        ("worker:scout-worker-1", "directory.scout_taken", "running"),
        ("worker:scout-worker-1", "directory.scouted", "done"),
        ("worker:scout-worker-1", "directory.scout_taken", "running"),
        ("worker:scout-worker-1", "directory.scouted", "done"),
    ]


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("file:///etc/passwd", "only http and https pages can be scouted"),
        ("http://169.254.169.254/latest/meta-data/", "the cloud metadata address"),
        ("http://10.0.0.5/admin", "10.0.0.5: a private address"),
        ("http://127.0.0.1:5432/", "a loopback address"),
        ("http://[::1]:8400/", "a loopback address"),
    ],
)
def test_hostile_urls_are_refused_by_the_worker_and_shown_with_the_reason(
    stack: StaffStack,
    client: TestClient,
    conn: Conn,
    sandbox: str,
    monkeypatch: pytest.MonkeyPatch,
    url: str,
    why: str,
) -> None:
    scout_id = request_scout(client, url)
    assert run_worker(stack, sandbox, monkeypatch) == 0
    row = conn.execute(
        "select status, reason, screenshots from directory_scouts where id = %s", (scout_id,)
    ).fetchone()
    assert row is not None
    assert row[0] == "refused"
    assert why in row[1]
    assert row[2] == []
    assert not (stack.artifacts_dir / "scouts" / str(scout_id)).exists() or not any(
        (stack.artifacts_dir / "scouts" / str(scout_id)).iterdir()
    ), "no page was opened"
    page = client.get(f"/staff/scout/{scout_id}").text
    assert 'data-status="refused"' in page
    assert "refused: a worker may not open this address" in page
    assert why in html.unescape(page)
    assert "Save as a disabled entry" not in page


def test_a_result_needs_the_lease_and_a_screenshot_ref_stays_in_its_folder(
    stack: StaffStack, client: TestClient
) -> None:
    scout_id = request_scout(client, "https://www.example.com/add")
    with httpx.Client(base_url=stack.orchestrator_url, headers=WORKER) as http:
        task = http.post("/scouts/next", json={"worker_id": "w-9"}).json()
        assert task["scout_id"] == scout_id
        sneaky = {
            "lease_token": task["lease_token"],
            "status": "done",
            "result": {},
            "screenshots": ["../../etc/passwd.png"],
        }
        assert http.post(f"/scouts/{scout_id}/result", json=sneaky).status_code == 422
        # Another scout's screenshot: the right shape, the wrong folder.
        elsewhere = sneaky | {"screenshots": [f"scouts/{scout_id + 1}/step-1.png"]}
        answer = http.post(f"/scouts/{scout_id}/result", json=elsewhere)
        assert answer.status_code == 422
        assert f"not under scouts/{scout_id}/" in answer.text
        stale = {
            "lease_token": "00000000-0000-0000-0000-000000000000",
            "status": "failed",
            "reason": "x",
        }
        assert http.post(f"/scouts/{scout_id}/result", json=stale).status_code == 409


def save_done_scout(
    stack: StaffStack, client: TestClient, sandbox: str, monkeypatch: pytest.MonkeyPatch
) -> int:
    scout_id = request_scout(client, f"{sandbox}/plain/submit")
    assert run_worker(stack, sandbox, monkeypatch) == 0
    return scout_id


def test_save_as_a_disabled_entry_and_export_round_trip(
    stack: StaffStack,
    client: TestClient,
    conn: Conn,
    queries: Queries,
    sandbox: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    scout_id = save_done_scout(stack, client, sandbox, monkeypatch)
    bad = client.post(
        f"/staff/scout/{scout_id}/save",
        data={"directory_id": "Bad Id", "name": "Plain", "tier": "starter", "country": "US"},
    )
    assert bad.status_code == 422
    assert "id: 2 to 63 lowercase letters" in bad.text
    taken = client.post(
        f"/staff/scout/{scout_id}/save",
        data={"directory_id": "sandbox-plain", "name": "Plain", "tier": "starter", "country": ""},
    )
    assert taken.status_code == 422
    assert "sandbox-plain is already a directory" in taken.text

    saved = client.post(
        f"/staff/scout/{scout_id}/save",
        data={
            "directory_id": "plain-scouted",
            "name": "Plain (scouted)",
            "tier": "growth",
            "country": "GB",
        },
    )
    assert saved.status_code == 303
    row = conn.execute(
        "select enabled, mode, tier, country, notes, recipe from directories"
        " where id = 'plain-scouted'"
    ).fetchone()
    assert row is not None
    assert row[:4] == (False, "recipe", "growth", "GB")
    assert row[4].startswith(f"scouted from {sandbox}/plain/submit by staff on ")
    assert STAFF_EMAIL not in row[4]  # export copies notes into the repository
    audit = conn.execute(
        "select actor, directory_id from audit_log where action = 'directory.saved_from_scout'"
    ).fetchall()
    assert audit == [(f"staff:{STAFF_EMAIL}", "plain-scouted")]

    page = client.get(f"/staff/scout/{scout_id}").text
    snippet = re.search(r'<pre class="json" id="scout-entry-json"[^>]*>(.*?)</pre>', page, re.S)
    assert snippet
    entry = json.loads(html.unescape(snippet.group(1)))
    assert entry["id"] == "plain-scouted"
    assert entry["enabled"] is False
    assert entry["recipe"] == row[5]

    # `dbolt directories export ID` prints the same entry.
    monkeypatch.setenv("DATABASE_URL", stack.db_url)
    assert cli.main(["directories", "export", "plain-scouted"]) == 0
    exported = json.loads(capsys.readouterr().out)
    assert exported == entry
    assert cli.main(["directories", "export", "no-such-dir"]) == 1

    # Pasted into directories.json, it validates; the catalogue plus it syncs.
    catalogue = load_directories(Path("directories.json"))
    validate_document({"version": 1, "directories": [*catalogue, exported]})
    # A sync of the file as it is (without the entry) keeps the saved row, disabled.
    result = sync_directories(conn, catalogue)
    assert result["upserted"] == len(catalogue)
    kept = conn.execute(
        "select enabled, mode, recipe = %s::jsonb from directories where id = 'plain-scouted'",
        (json.dumps(row[5]),),
    ).fetchone()
    assert kept == (False, "recipe", True)
    # And once pasted in, the sync takes it from the file.
    sync_directories(conn, [*catalogue, exported])
    assert conn.execute(
        "select enabled, notes like 'scouted from %%' from directories where id = 'plain-scouted'"
    ).fetchone() == (False, True)
    assert (
        client.post(
            f"/staff/scout/{scout_id}/save",
            data={"directory_id": "plain-again", "name": "Again", "tier": "starter", "country": ""},
        ).status_code
        == 422
    ), "a scout is saved once"


def test_a_recipe_changed_by_a_sync_shows_its_diff_of_steps(
    client: TestClient, conn: Conn, queries: Queries
) -> None:
    catalogue = load_directories(Path("directories.json"))
    [plain] = [e for e in catalogue if e["id"] == "sandbox-plain"]
    page = client.get("/staff/directories/sandbox-plain").text
    assert "No change since it was first synced." in page
    old_steps = plain["recipe"]["steps"]
    # The reviewed edit: one field's selector changed, a step dropped, one added.
    new_steps = [dict(s) for s in old_steps]
    fill_at = next(i for i, s in enumerate(new_steps) if s.get("value") == "business_name")
    new_steps[fill_at] = new_steps[fill_at] | {"selector": "#company"}
    removed = next(i for i, s in enumerate(new_steps) if s.get("value") == "website")
    dropped = new_steps.pop(removed)
    new_steps.insert(len(new_steps) - 1, {"action": "click", "selector": "#agree"})
    changed = plain | {"recipe": plain["recipe"] | {"steps": new_steps}}
    sync_directories(conn, [changed if e["id"] == "sandbox-plain" else e for e in catalogue])

    page = client.get("/staff/directories/sandbox-plain")
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert "changed the recipe: 3 steps changed." in text
    kinds = re.findall(r'<tr class="diff-(\w+)" data-kind="\w+">', text)
    assert kinds.count("changed") == 1
    assert kinds.count("removed") == 1
    assert kinds.count("added") == 1
    assert kinds.count("same") == len(old_steps) - 2
    assert f"type business_name into {old_steps[fill_at]['selector']}" in text
    assert "type business_name into #company" in text
    assert f'selector: "{old_steps[fill_at]["selector"]}" → "#company"' in text
    assert f"type website into {dropped['selector']}" in text
    assert "click #agree" in text
    current = re.search(r'<ol id="recipe-steps-steps">(.*?)</ol>', text, re.S)
    assert current
    assert "type business_name into #company</li>" in current.group(0)
    assert "Never run." in text

    # Its latest canary runs, newest first: a baseline, then a drift.
    for digest in ("a" * 64, "b" * 64):
        queries.fetch_one(
            conn,
            "directories_record_canary",
            directory_id="sandbox-plain",
            signature=Jsonb({"forms": [digest[:3]]}),
            digest=digest,
            failed_step=None,
            error=None,
        )
    runs = re.search(
        r'<table class="stack" id="canary-runs">.*?</table>',
        client.get("/staff/directories/sandbox-plain").text,
        re.S,
    )
    assert runs
    assert re.findall(r'data-ok="(\w+)"', runs.group(0)) == ["no", "yes"]
    assert "took it out of new jobs" in runs.group(0)
    assert "first baseline" in runs.group(0)


@pytest.fixture
def redirector() -> Iterator[str]:
    """An allowed loopback page that sends the browser to the cloud metadata endpoint."""
    with serving(redirect_to("http://169.254.169.254/latest/meta-data/")) as origin:
        yield origin


def test_a_redirect_to_the_metadata_address_is_refused_while_loading(
    stack: StaffStack,
    client: TestClient,
    conn: Conn,
    sandbox: str,
    redirector: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scout_id = request_scout(client, f"{redirector}/submit")
    monkeypatch.setenv(
        "WORKER_ALLOWED_PRIVATE_HOSTS",
        f"{redirector.split('://', 1)[1]},{sandbox.split('://', 1)[1]}",
    )
    monkeypatch.setenv("ENVIRONMENT", "development")
    monkeypatch.setenv("ORCHESTRATOR_URL", stack.orchestrator_url)
    monkeypatch.setenv("WORKER_TOKEN", WORKER_TOKEN)
    monkeypatch.setenv("ARTIFACTS_DIR", str(stack.artifacts_dir))
    assert asyncio.run(queue.serve(once=True, interval_seconds=0.1)) == 0
    row = conn.execute(
        "select status, reason from directory_scouts where id = %s", (scout_id,)
    ).fetchone()
    assert row is not None
    assert row[0] == "refused"
    assert re.search(r"169\.254\.169\.254.*the cloud metadata address", row[1]), row[1]
    assert "the cloud metadata address" in html.unescape(
        client.get(f"/staff/scout/{scout_id}").text
    )


def _serving_page(body: bytes) -> Any:
    def answer(handler: Any) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html; charset=utf-8")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return serving(answer)


# A select of 60,000 options: read up to the limit, the draft says what was cut.
HUGE_SELECT = (
    b"<form><label>Business name <input name=business_name required></label>"
    b"<label>Category <select name=category>"
    + b"".join(b"<option>category %d</option>" % n for n in range(60_000))
    + b"</select></label><button type=submit>Send</button></form>"
)
# Fifty forms of 300 hidden inputs with 200-character names and ids: within every limit of
# what a scout reads, and still far over the orchestrator's 1 MiB for a report.
HUGE_REPORT = b"".join(
    b"<form id=f%d>" % form
    + b"".join(
        b'<input type=hidden name="%s" id="%s">'
        % (b"n%03d" % n + b"x" * 196, b"i%03d" % n + b"y" * 196)
        for n in range(300)
    )
    + b"</form>"
    for form in range(50)
)


def test_a_huge_select_is_cut_and_a_too_large_report_fails_after_one_attempt(
    stack: StaffStack,
    client: TestClient,
    conn: Conn,
    sandbox: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with _serving_page(HUGE_SELECT) as select_page, _serving_page(HUGE_REPORT) as big_page:
        cut = request_scout(client, f"{select_page}/")
        big = request_scout(client, f"{big_page}/")
        assert run_worker(stack, sandbox, monkeypatch, select_page, big_page) == 0
    rows = {
        row[0]: row[1:]
        for row in conn.execute(
            "select id, status, attempts, reason, result from directory_scouts"
            " where id in (%s, %s)",
            (cut, big),
        ).fetchall()
    }
    status, attempts, _, result = rows[cut]
    assert (status, attempts) == ("done", 1)
    # The label wraps the select: its text (every option's) is cut too.
    assert result["signature"]["cut"] == "(cut) more than a scout reads: options, text"
    (form,) = result["signature"]["forms"]
    (category,) = [f for f in form["fields"] if f["name"] == "category"]
    assert len(category["options"]) == 300
    assert (
        f"{result['signature']['cut']}: the form may hold more than this draft shows"
        in (result["draft"]["review"])
    )
    assert "(cut) more than a scout reads" in client.get(f"/staff/scout/{cut}").text

    status, attempts, reason, result = rows[big]
    assert (status, attempts, result) == ("failed", 1, None)
    assert reason.startswith("the report was too large")
    taken = conn.execute(
        "select count(*) from audit_log where action = 'directory.scout_taken'"
        " and (details ->> 'scout_id')::bigint = %s",
        (big,),
    ).fetchone()
    assert taken == (1,)
