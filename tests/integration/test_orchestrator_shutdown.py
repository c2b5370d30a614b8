"""Stopping is bounded: if the background loops or the database pool never finish closing
(seen once in a clean-clone run: the TestClient waited five minutes on the lifespan), the
orchestrator gives up after SHUTDOWN_SECONDS, logs why, and exits anyway — well inside a
Kubernetes grace period."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
from fastapi.testclient import TestClient

from orchestrator import app as orchestrator_app
from tests.support.orchestrator_harness import build


def test_a_shutdown_that_cannot_finish_is_cut_short_and_logged(
    db_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(orchestrator_app, "SHUTDOWN_SECONDS", 0.5)
    app = build(db_url)
    database = app.state.orchestrator.db
    real_close = database.close

    async def close_never_finishing() -> None:
        await real_close()
        await asyncio.Event().wait()  # the hang: nothing ever sets it

    monkeypatch.setattr(database, "close", close_never_finishing)
    with caplog.at_level(logging.ERROR, logger="orchestrator.app"):
        with TestClient(app) as client:
            assert client.get("/healthz").status_code == 200
            began = time.monotonic()
        stopped_in = time.monotonic() - began
    assert stopped_in < 30, "the lifespan hung instead of giving up"
    assert any(
        getattr(record, "action", None) == "orchestrator.shutdown_timeout"
        for record in caplog.records
    )
