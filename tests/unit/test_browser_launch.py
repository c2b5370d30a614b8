"""Which browser the worker launches: the headless shell by default, the full browser with
BROWSER_LEAN=false or when the shell is missing; the egress guard's WebRTC flag in both."""

from __future__ import annotations

from pathlib import Path

from worker.browser_launch import CHROMIUM_ARGS, LEAN_ARGS, MEMORY_ARGS, launch_options
from worker.settings import WorkerSettings

WEBRTC_PROXIED_ONLY = "--force-webrtc-ip-handling-policy=disable_non_proxied_udp"


def _settings(tmp_path: Path, **values: object) -> WorkerSettings:
    shell = tmp_path / "chromium-headless-shell"
    shell.write_text("#!/bin/sh\n")
    shell.chmod(0o755)
    fields: dict[str, object] = {
        "chromium_path": "/full/chromium",
        "headless_shell_path": str(shell),
    }
    return WorkerSettings.model_validate(fields | values)


def test_lean_launches_the_headless_shell_with_the_lean_flags(tmp_path: Path) -> None:
    options = launch_options(_settings(tmp_path))
    assert options["executable_path"] == str(tmp_path / "chromium-headless-shell")
    assert options["args"] == LEAN_ARGS + MEMORY_ARGS
    assert WEBRTC_PROXIED_ONLY in options["args"]


def test_the_network_service_stays_out_of_process_when_asked(tmp_path: Path) -> None:
    options = launch_options(_settings(tmp_path, browser_network_in_process=False))
    assert options["args"] == LEAN_ARGS


def test_browser_lean_false_launches_the_full_browser_as_before(tmp_path: Path) -> None:
    options = launch_options(_settings(tmp_path, browser_lean=False))
    assert options["executable_path"] == "/full/chromium"
    assert options["args"] == CHROMIUM_ARGS
    assert WEBRTC_PROXIED_ONLY in options["args"]


def test_a_missing_shell_falls_back_to_the_full_browser(tmp_path: Path) -> None:
    options = launch_options(_settings(tmp_path, headless_shell_path=str(tmp_path / "none")))
    assert options["executable_path"] == "/full/chromium"
    assert options["args"] == LEAN_ARGS + MEMORY_ARGS
