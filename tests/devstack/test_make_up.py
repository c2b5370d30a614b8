"""`make up` as a newcomer meets it, with real child processes standing in for the services
(python -c; the whole stack with Chromium workers would take minutes): a start prints one
line, then the banner last, while every INFO line goes to the service's log file; the banner
is there again for `make status`; a crashed restartable service is restarted with backoff
and a WARNING line, and left stopped if it keeps crashing; a stand-in dying stops the stack;
`make demo` ends with the portal links to its job and how to sign in to see them."""

from __future__ import annotations

import io
import itertools
import json
import logging
import os
import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from devstack import demo, up
from devstack.stack_console import Console, console_level
from devstack.supervisor import RestartPolicy, supervise
from tests.support.orchestrator_harness import STAFF_KEY, build, serve
from tests.support.ports import free_port

# Tiny backoff: 0.05 s doubling to 0.2 s.
FAST = RestartPolicy(
    first_delay=0.05, max_delay=0.2, healthy_after=30, max_crashes=6, within=60, poll=0.01
)


def wait_until(probe: Callable[[], object], what: str, deadline: float = 15.0) -> None:
    end = time.monotonic() + deadline
    while not probe():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def crashing_worker(tmp_path: Path, crashes: int | None) -> up.Process:
    """A worker that logs, then exits with 3 on its first `crashes` runs (every run if None)
    and stays up after; each run appends its start time to `runs`."""
    limit = "True" if crashes is None else f"run <= {crashes}"
    code = f"""
import json, pathlib, sys, time
runs = pathlib.Path({str(tmp_path / "runs")!r})
with runs.open("a") as f:
    f.write(f"{{time.time()}}\\n")
run = len(runs.read_text().split())
print(json.dumps({{"level": "info", "msg": f"run {{run}} starting"}}), flush=True)
if {limit}:
    print("Traceback (most recent call last): boom", file=sys.stderr, flush=True)
    sys.exit(3)
time.sleep(60)
"""
    return up.Process(
        name="worker-9", address="-", args=["-c", code], restartable=True, log_dir=tmp_path
    )


def starts(tmp_path: Path) -> list[float]:
    path = tmp_path / "runs"
    return [float(t) for t in path.read_text().split()] if path.exists() else []


def supervising(
    services: list[up.Service], console: Console, policy: RestartPolicy = FAST
) -> tuple[threading.Thread, threading.Event, list[str | None]]:
    stop = threading.Event()
    result: list[str | None] = []
    thread = threading.Thread(
        target=lambda: result.append(supervise(list(services), stop, console, policy))
    )
    thread.start()
    return thread, stop, result


def test_the_banner_with_its_keys_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    """Even over a world-readable banner an older run left, and under a permissive umask."""
    banner_file = tmp_path / "up" / "banner.txt"
    banner_file.parent.mkdir()
    banner_file.write_text("an older banner\n")
    banner_file.chmod(0o644)
    previous = os.umask(0)
    try:
        up._write_banner("SUPABASE_SERVICE_ROLE_KEY=secret", banner_file)
    finally:
        os.umask(previous)
    assert stat.S_IMODE(banner_file.stat().st_mode) == 0o600
    assert banner_file.read_text() == "SUPABASE_SERVICE_ROLE_KEY=secret\n"


def test_a_crashed_worker_is_restarted_with_backoff_and_says_so(tmp_path: Path) -> None:
    out = io.StringIO()
    console = Console(stream=out)
    worker = crashing_worker(tmp_path, crashes=3)
    worker.console = console
    worker.start()
    thread, stop, result = supervising([worker], console)
    try:
        wait_until(lambda: len(starts(tmp_path)) == 4, "the fourth run")
        wait_until(lambda: worker.alive() and worker.uptime() > 0.3, "the fourth run staying up")
    finally:
        stop.set()
        thread.join(timeout=10)
        worker.stop()
    assert result == [None], "the stack was never told to stop"
    warnings = [line for line in out.getvalue().splitlines() if line.startswith("WARNING")]
    assert len(warnings) == 3, out.getvalue()
    for n, (line, delay) in enumerate(zip(warnings, ("0.05", "0.1", "0.2"), strict=True), 1):
        assert line.startswith("WARNING: worker-9 crashed (exit code 3)"), line
        assert f"restarting it in {delay} s (crash {n} of 6 allowed" in line, line
        assert f"log: {tmp_path / 'worker-9.log'}" in line
    # Each restart waited at least its pause, and the pauses doubled.
    times = starts(tmp_path)
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert all(gap >= pause for gap, pause in zip(gaps, (0.05, 0.1, 0.2), strict=True)), gaps
    # Every run's output is in one file, kept across restarts; the traceback is not on the
    # console (not JSON), the file has it.
    log = (tmp_path / "worker-9.log").read_text()
    assert [f"run {n} starting" in log for n in range(1, 5)] == [True] * 4
    assert log.count("Traceback") == 3
    assert "Traceback" not in out.getvalue()


def test_a_worker_crashing_again_and_again_is_left_stopped_and_the_stack_runs_on(
    tmp_path: Path,
) -> None:
    out = io.StringIO()
    console = Console(stream=out)
    worker = crashing_worker(tmp_path, crashes=None)
    worker.console = console
    worker.start()
    policy = RestartPolicy(
        first_delay=0.02, max_delay=0.05, healthy_after=30, max_crashes=3, within=60, poll=0.01
    )
    thread, stop, result = supervising([worker], console, policy)
    try:
        wait_until(lambda: "not restarting it again" in out.getvalue(), "giving up")
        assert thread.is_alive(), "the rest of the stack keeps running"
    finally:
        stop.set()
        thread.join(timeout=10)
        worker.stop()
    assert result == [None]
    assert len(starts(tmp_path)) == 3, "no run after giving up"
    text = out.getvalue()
    assert "ERROR: worker-9 crashed 3 times within 1 minute (last exit code 3)" in text
    assert f"Look at {tmp_path / 'worker-9.log'}" in text
    # What to look at is on the screen: the end of its log, the traceback included.
    assert "  | Traceback (most recent call last): boom" in text


def test_a_stand_in_that_dies_stops_the_stack_and_says_why(tmp_path: Path) -> None:
    out = io.StringIO()
    console = Console(stream=out)
    mail = up.Process(
        name="mail",
        address="-",
        args=["-c", "import sys; print('smtp bind failed', flush=True); sys.exit(1)"],
        log_dir=tmp_path,
    )
    mail.console = console
    mail.start()
    thread, _, result = supervising([mail], console)
    thread.join(timeout=15)
    assert result == ["mail stopped"]
    assert "ERROR: mail stopped unexpectedly (exit code 1); shutting the stack down" in (
        out.getvalue()
    )
    assert "  | smtp bind failed" in out.getvalue()


def noisy_service(tmp_path: Path, name: str, port: int) -> up.Process:
    """A service that logs 200 INFO lines and one WARNING, then answers HTTP on `port`."""
    code = f"""
import http.server, json
for n in range(200):
    print(json.dumps({{"level": "info", "msg": f"routine {{n}}", "action": "routine"}}), flush=True)
warning = {{"level": "warning", "msg": "disk nearly full", "action": "disk.low"}}
print(json.dumps(warning), flush=True)
http.server.HTTPServer(("127.0.0.1", {port}), http.server.SimpleHTTPRequestHandler).serve_forever()
"""
    return up.Process(
        name=name,
        address=f"http://127.0.0.1:{port}",
        args=["-c", code],
        ready_url=f"http://127.0.0.1:{port}/",
        log_dir=tmp_path / "logs",
    )


def test_a_start_is_quiet_and_ends_with_the_banner_which_make_status_shows_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = io.StringIO()
    console = Console(console_level({}), stream=out)
    planned: list[up.Service] = [
        noisy_service(tmp_path, "orchestrator", free_port()),
        noisy_service(tmp_path, "portal", free_port()),
    ]
    banner_file = tmp_path / "up" / "banner.txt"
    stop = threading.Event()
    codes: list[int] = []
    thread = threading.Thread(
        target=lambda: codes.append(up.run(planned, [], console, stop, FAST, banner_file))
    )
    thread.start()
    try:
        wait_until(banner_file.exists, "the banner")
        started = out.getvalue()
        text = banner_file.read_text().rstrip("\n")
        # It holds the service-role key, the staff key and the worker password.
        assert stat.S_IMODE(banner_file.stat().st_mode) == 0o600
        assert up.status(banner_file) == 0
        assert capsys.readouterr().out == text + "\n"
    finally:
        stop.set()
        thread.join(timeout=20)
    assert codes == [0]

    lines = started.rstrip("\n").splitlines()
    assert not banner_file.exists(), "the banner is gone once the stack stops"
    assert text.startswith("DirectoryBolt local stack is up (2 services):")
    # One line before the services' warnings and the banner; the banner is the last thing.
    assert lines[0].startswith("Starting 2 services (orchestrator, portal)")
    assert started.rstrip("\n").endswith(text)
    before_banner = lines[: len(lines) - len(text.splitlines())]
    assert [line for line in before_banner if line] == [
        lines[0],
        "orchestrator WARNING: disk nearly full (action=disk.low)",
        "portal WARNING: disk nearly full (action=disk.low)",
    ]
    assert "Press Enter to see this again (or `make status` in another terminal)" in text
    assert f"Logs: every service's, INFO and up, in {tmp_path / 'logs'}/<service>.log" in text
    assert "LOG_CONSOLE_LEVEL=info make up shows all" in text
    assert f"Staff: sign in at {up.PORTAL_URL}/sign-in as {up.STAFF_EMAIL}" in text
    # Every line, routine ones included, is in each service's file, as JSON.
    for name in ("orchestrator", "portal"):
        logged = (tmp_path / "logs" / f"{name}.log").read_text().splitlines()
        entries = [json.loads(line) for line in logged if line.startswith("{")]
        assert [e["msg"] for e in entries[:200]] == [f"routine {n}" for n in range(200)]
        assert entries[200]["level"] == "warning"
    # After a stop, `make status` says nothing runs.
    assert up.status(banner_file) == 1
    assert "`make up` is not running" in capsys.readouterr().out


def test_the_console_level_comes_from_log_console_level() -> None:
    assert console_level({}) == logging.WARNING
    assert console_level({"LOG_CONSOLE_LEVEL": "info"}) == logging.INFO
    with pytest.raises(SystemExit, match="LOG_CONSOLE_LEVEL='loud' is not a log level"):
        console_level({"LOG_CONSOLE_LEVEL": "loud"})
    # At INFO, routine lines (and non-JSON output) show too.
    verbose = io.StringIO()
    Console(logging.INFO, verbose).service_line("portal", '{"level": "info", "msg": "hello"}')
    Console(logging.INFO, verbose).service_line("functions", "Listening on 127.0.0.1:54340")
    assert verbose.getvalue().splitlines() == [
        "portal INFO: hello",
        "functions: Listening on 127.0.0.1:54340",
    ]
    # An error shows in two lines however long its message and traceback.
    quiet = io.StringIO()
    crashed = {
        "level": "error",
        "msg": "attempt crashed; trying again\nhandle: <Handle …>",
        "action": "attempt.crashed",
        "exc": "Traceback (most recent call last):\n  File …\nIndexError: pop from an empty deque",
    }
    Console(stream=quiet).service_line("worker-1", json.dumps(crashed))
    assert quiet.getvalue().splitlines() == [
        "worker-1 ERROR: attempt crashed; trying again (action=attempt.crashed)",
        "    IndexError: pop from an empty deque (traceback in .local/logs/worker-1.log)",
    ]


def test_make_up_restarts_the_services_production_restarts_and_no_stand_in() -> None:
    planned, _ = up.services()
    restartable = {s.name for s in planned if s.restartable}
    expected = {"orchestrator", "webhook", "portal", "scouts"} | {f"worker-{n}" for n in (1, 2)}
    assert restartable == expected & {s.name for s in planned}


def test_make_demo_ends_with_the_portal_links_and_how_to_sign_in(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with serve(build(db_url)) as orchestrator_url:
        code = demo.main(
            [
                "--database-url",
                db_url,
                "--orchestrator-url",
                orchestrator_url,
                "--staff-api-key",
                STAFF_KEY,
                "--email",
                "demo@bluebird-bakery.example",
                "--timeout",
                "0.5",
            ]
        )
    assert code == 1, "no workers here: the job is still pending"
    printed = capsys.readouterr().out
    job_id = printed.split()[1]
    assert printed.startswith(f"job {job_id} (professional) for demo@bluebird-bakery.example")
    job = f"{up.PORTAL_URL}/jobs/{job_id}"
    last = printed.rstrip("\n").splitlines()[-9:]
    assert last == [
        "See it in the portal:",
        f"  job page   {job}",
        f"  report     {job}/report  (PDF: {job}/report.pdf)",
        f"  staff      {up.PORTAL_URL}/staff/jobs/{job_id}",
        "",
        f"Sign in as the customer at {up.PORTAL_URL}/sign-in?next=/jobs/{job_id} with "
        "demo@bluebird-bakery.example,",
        f"or as staff at {up.PORTAL_URL}/sign-in?next=/staff/jobs/{job_id} with {up.STAFF_EMAIL};",
        f"the 6-digit code (and a sign-in link) arrives in the mail inbox at {up.MAIL_URL},",
        "with the customer's emails about this job.",
    ]
    assert "curl" not in printed
