"""Running the orchestrator for tests: in-process (TestClient, lifespan included) or as a
real uvicorn server on a free loopback port."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from fastapi import FastAPI
from pydantic import SecretStr

from devstack.serving import AppServer
from orchestrator.app import create_app
from orchestrator.settings import OrchestratorSettings

WORKER_TOKEN = "test-worker-token-0123456789"
STAFF_KEY = "test-staff-key-0123456789"
WORKER = {"Authorization": f"Bearer {WORKER_TOKEN}"}
STAFF = {"Authorization": f"Bearer {STAFF_KEY}", "X-Actor": "alice@example.com"}


def settings_for(db_url: str, **overrides: Any) -> OrchestratorSettings:
    values: dict[str, Any] = {
        "database_url": SecretStr(db_url),
        "worker_token": SecretStr(WORKER_TOKEN),
        "staff_api_key": SecretStr(STAFF_KEY),
        "reaper_interval_seconds": 0.2,
        "wake_interval_seconds": 0.2,
        "stats_interval_seconds": 0.2,
        "lease_seconds": 60,
        "environment": "test",
    }
    values.update(overrides)
    return OrchestratorSettings(**values)


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Serve `app` with uvicorn in a thread (lifespan included); yields its base URL."""
    with AppServer(app, "the orchestrator") as server:
        yield server.url


def wait_for(predicate: Any, timeout: float = 10.0, interval: float = 0.05) -> Any:
    """Poll until predicate() is truthy; returns its value or fails the test."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


def get_json(client: httpx.Client, path: str, **kwargs: Any) -> Any:
    response = client.get(path, **kwargs)
    return response.json()


def build(db_url: str, **overrides: Any) -> FastAPI:
    return create_app(settings_for(db_url, **overrides))
