"""`python -m worker scouts` serves the worker's /healthz (HEALTH_PORT) while it loops: the
scouts pod's probes (deploy/k8s/base/scouts.yaml) run the same command as the worker's. Here
the orchestrator is a closed port: the loop keeps going (logged) and /healthz still answers."""

from __future__ import annotations

import asyncio
import json
import socket

import httpx
import pytest

from worker.scout import queue


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_scouts_loop_serves_healthz(monkeypatch: pytest.MonkeyPatch) -> None:
    port = _free_port()
    monkeypatch.setenv("ENVIRONMENT", "development")
    monkeypatch.setenv("ORCHESTRATOR_URL", f"http://127.0.0.1:{_free_port()}")
    monkeypatch.setenv("WORKER_ID", "scouts-health")
    monkeypatch.setenv("HEALTH_PORT", str(port))

    async def probe() -> dict[str, object]:
        loop = asyncio.create_task(queue.serve(once=False, interval_seconds=0.05))
        try:
            async with httpx.AsyncClient() as http:
                for _ in range(100):
                    try:
                        answer = await http.get(f"http://127.0.0.1:{port}/healthz")
                        return dict(json.loads(answer.content))
                    except httpx.ConnectError:
                        await asyncio.sleep(0.05)
            raise AssertionError("no /healthz")
        finally:
            loop.cancel()

    status = asyncio.run(probe())
    assert status["worker_id"] == "scouts-health"
    assert status["state"] == "idle"
    assert status["current_job"] is None
