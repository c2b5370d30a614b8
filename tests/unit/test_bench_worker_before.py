"""bench-worker's before side: the full browser by default, or with `--before lean` the
lean browser without the memory flags, read by the worker's own settings and launch."""

from __future__ import annotations

import pytest

from bench.worker.run import browser_env
from worker.browser_launch import CHROMIUM_ARGS, LEAN_ARGS, MEMORY_ARGS, launch_options
from worker.settings import WorkerSettings


def _args(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> list[str]:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    args: list[str] = launch_options(WorkerSettings())["args"]
    return args


def test_each_side_launches_the_browser_it_names(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _args(browser_env(lean=True, before="lean"), monkeypatch) == LEAN_ARGS + MEMORY_ARGS
    assert _args(browser_env(lean=False, before="lean"), monkeypatch) == LEAN_ARGS
    assert _args(browser_env(lean=False, before="full"), monkeypatch) == CHROMIUM_ARGS
