"""The HTTP path: simulated workers → dbolt's worker client → a real orchestrator process."""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
from collections.abc import Mapping, Sequence

import httpx
from prometheus_client.parser import text_string_to_metric_families

from bench.orchestrator import processes, raw_http, server
from bench.orchestrator.drain import Claim, Drained, confirmed_success, drain
from bench.orchestrator.results import RunResult, RunSettings, ServerSide
from dbolt.orchestrator_client import OrchestratorClient

REQUEST_TIMEOUT_SECONDS = 30.0


class HttpDoor:
    """One worker's OrchestratorClient: the very code a real worker claims and reports with,
    request models serialised and answers validated included."""

    def __init__(self, client: OrchestratorClient) -> None:
        self.client = client

    async def claim(self) -> Claim | None:
        assignment = await self.client.claim()
        if assignment is None:
            return None
        directory_ids = tuple(task.directory_id for task in assignment.directories)
        return Claim(assignment.job_id, assignment.lease_token, directory_ids)

    async def report(self, claim: Claim, directory_id: str) -> None:
        report = confirmed_success(claim, directory_id)
        state = await self.client.report_attempt(claim.job_id, report)
        # The client keeps an undeliverable report in its outbox and answers None; in a
        # benchmark that is a failed request, not something to resend later.
        if state is None:
            raise RuntimeError(f"attempt report for job {claim.job_id} was not delivered")

    async def complete(self, claim: Claim) -> None:
        await self.client.complete(claim.job_id, claim.lease_token)


def _http_clients(base_url: str, settings: RunSettings) -> list[httpx.AsyncClient]:
    """One client per simulated worker (`own`), or one client all workers share (`shared`).

    `own` is how workers run: each worker process makes its own client with
    OrchestratorClient.connect and has one request in flight at a time. `shared` puts all
    workers on one client with a connection each; httpcore then re-scans its whole pool for
    every request it queues and finishes, so that client's CPU per request grows with the
    concurrency and, on a small machine, the run ends up measuring httpx instead of the
    orchestrator.
    """
    count = 1 if settings.http_client == "shared" else settings.workers
    connections = settings.workers // count
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    # One TLS context for all: httpx would otherwise load the CA bundle into each client
    # (about a MiB apiece), memory a worker process pays once and this process would pay
    # per simulated worker. The orchestrator is plain HTTP here anyway.
    tls = ssl.create_default_context()
    return [
        httpx.AsyncClient(
            base_url=base_url,
            headers={"Authorization": f"Bearer {settings.worker_token}"},
            limits=limits,
            timeout=REQUEST_TIMEOUT_SECONDS,
            verify=tls,
        )
        for _ in range(count)
    ]


async def _open_connections(clients: Sequence[httpx.AsyncClient], workers: int) -> None:
    """Open every keep-alive connection before the clock starts, as the direct path's pool
    is full before its clock starts."""
    requests = (clients[index % len(clients)].get("/healthz") for index in range(workers))
    for response in await asyncio.gather(*requests):
        response.raise_for_status()


async def _drive_raw(
    base_url: str, settings: RunSettings, pids: Mapping[str, Sequence[int]]
) -> tuple[Drained, dict[str, float], int]:
    """As _drive, with bench.orchestrator.raw_http's client: a connection per worker, opened
    before the clock starts."""
    url = httpx.URL(base_url)
    connections = [
        raw_http.RawConnection(url.host, url.port or 80, settings.worker_token)
        for _ in range(settings.workers)
    ]
    await asyncio.gather(*(connection.open() for connection in connections))
    try:
        doors = [
            raw_http.RawDoor(connection, f"bench-raw-{index}")
            for index, connection in enumerate(connections)
        ]
        before = processes.cpu_snapshot(pids)
        drained = await drain(doors)
        after = processes.cpu_snapshot(pids)
        rss = processes.rss_bytes(os.getpid())
    finally:
        await asyncio.gather(*(connection.close() for connection in connections))
    return drained, processes.cpu_used(before, after), rss


async def _drive(
    base_url: str, settings: RunSettings, pids: Mapping[str, Sequence[int]]
) -> tuple[Drained, dict[str, float], int]:
    """Drain the queue; CPU used meanwhile, and this process's RSS with every client open."""
    if settings.http_client == "raw":
        return await _drive_raw(base_url, settings, pids)
    async with contextlib.AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(client) for client in _http_clients(base_url, settings)
        ]
        await _open_connections(clients, settings.workers)
        doors = [
            HttpDoor(
                OrchestratorClient(
                    http=clients[index % len(clients)], worker_id=f"bench-http-{index}"
                )
            )
            for index in range(settings.workers)
        ]
        before = processes.cpu_snapshot(pids)
        drained = await drain(doors)
        after = processes.cpu_snapshot(pids)
        rss = processes.rss_bytes(os.getpid())
    return drained, processes.cpu_used(before, after), rss


def _histogram_mean(metrics_text: str, name: str) -> float:
    for family in text_string_to_metric_families(metrics_text):
        if family.name == name:
            values = {sample.name: sample.value for sample in family.samples}
            return values[f"{name}_sum"] / values[f"{name}_count"]
    raise RuntimeError(f"the orchestrator's /metrics has no {name}")


def run(
    database_url: str,
    settings: RunSettings,
    checkout: server.Checkout = server.THIS_CHECKOUT,
    path: str = "HTTP",
) -> RunResult:
    """Drain through an orchestrator from `checkout`; the result is named `path`."""
    config = server.ServerConfig(
        database_url=database_url,
        pool_size=settings.pool_size,
        lease_seconds=settings.lease_seconds,
        worker_token=settings.worker_token,
        stats_interval_seconds=settings.stats_interval_seconds,
        log_path=settings.server_log,
        checkout_timeout_seconds=settings.checkout_timeout_seconds,
        checkout=checkout,
    )
    with server.running(config) as orchestrator:
        backends = server.wait_for_pool(database_url, settings.pool_size)
        rss_at_rest = orchestrator.rss_bytes()
        pids = {"orchestrator": [orchestrator.pid], "postgres": backends}
        drained, cpu, bench_rss = asyncio.run(_drive(orchestrator.base_url, settings, pids))
        metrics = orchestrator.metrics_text()
        side = ServerSide(
            rss_at_rest_bytes=rss_at_rest,
            peak_rss_bytes=orchestrator.peak_rss_bytes(),
            jobs_next_db_seconds=_histogram_mean(
                metrics, "directorybolt_jobs_next_duration_seconds"
            ),
            attempt_db_seconds=_histogram_mean(
                metrics, "directorybolt_attempt_report_duration_seconds"
            ),
        )
    return RunResult(path, settings.workers, drained, cpu, bench_rss, side)
