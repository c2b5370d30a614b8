"""`python -m worker scouts [--once]`: the scouts staff ask for on the dashboard
(/staff/scout), run on the worker side. It takes the oldest queued scout through the
orchestrator (the worker never touches Postgres), runs the read-only scout
(worker/scout/run.py: the destination policy before the browser starts, the egress guard on
every connection, nothing ever submitted), keeps the screenshots in ARTIFACTS_DIR under
scouts/<id>/ (swept after ARTIFACTS_RETENTION_DAYS by the workers, as attempts' are) and
posts the report, or why the URL was refused or the page failed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import shutil
from pathlib import Path
from typing import Any

import httpx

from dbolt.log import configure_logging
from dbolt.scout_contracts import ScoutClaim, ScoutResult, ScoutStatus, ScoutTask
from worker.health import WorkerStatus, serve_health
from worker.scout.draft import main_form
from worker.scout.run import ScoutFailed, ScoutRefused, scout
from worker.scout.settings import ScoutSettings
from worker.settings import WorkerSettings

log = logging.getLogger(__name__)

# What the orchestrator says to a report it will not take, in words staff read.
_REPORT_REFUSED = {
    413: "the report was too large: the page holds more than a scout can report",
    422: "the report was refused by the orchestrator as malformed",
}


class ScoutQueue:
    """The orchestrator's scout endpoints, with the worker token."""

    def __init__(self, base_url: str, worker_token: str, worker_id: str) -> None:
        self.worker_id = worker_id
        self.http = httpx.AsyncClient(
            base_url=base_url, headers={"Authorization": f"Bearer {worker_token}"}, timeout=30.0
        )

    async def aclose(self) -> None:
        await self.http.aclose()

    async def next(self) -> ScoutTask | None:
        body = ScoutClaim(worker_id=self.worker_id).model_dump_json()
        response = await self.http.post(
            "/scouts/next", content=body, headers={"Content-Type": "application/json"}
        )
        response.raise_for_status()
        if response.status_code == 204:
            return None
        return ScoutTask.model_validate_json(response.content)

    async def _post(self, scout_id: int, result: ScoutResult) -> httpx.Response:
        return await self.http.post(
            f"/scouts/{scout_id}/result",
            content=result.model_dump_json(),
            headers={"Content-Type": "application/json"},
        )

    async def finish(self, scout_id: int, result: ScoutResult) -> None:
        response = await self._post(scout_id, result)
        if result.status is ScoutStatus.done and response.status_code in _REPORT_REFUSED:
            # A report the orchestrator will never take: left running, the scout would be
            # taken again after its lease and make the same report, three times over.
            log.warning(
                "scout report refused",
                extra={
                    "action": "scout.report_refused",
                    "scout_id": scout_id,
                    "status": response.status_code,
                },
            )
            failed = ScoutResult(
                lease_token=result.lease_token,
                status=ScoutStatus.failed,
                reason=_REPORT_REFUSED[response.status_code],
            )
            response = await self._post(scout_id, failed)
        response.raise_for_status()


def form_fields(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The fields of the form a recipe would fill, as the staff page lists them."""
    form = main_form(report["signature"])
    if form is None:
        return []
    return [
        {
            "label": field.get("label") or field.get("placeholder") or field.get("aria_label", ""),
            "name": field["name"],
            "type": field["type"],
            "required": field["required"],
            "step": field["step"],
            "options": len(field.get("options") or []),
        }
        for field in form["fields"]
        if field["type"] != "hidden"
    ]


async def run_one(task: ScoutTask, artifacts_dir: Path, settings: ScoutSettings) -> ScoutResult:
    """Scout the task's URL; the result to post, whatever happened."""
    out_dir = artifacts_dir / "scouts" / str(task.scout_id)
    # A scout taken again after a worker died starts from a clean folder.
    await asyncio.to_thread(shutil.rmtree, out_dir, True)
    try:
        report = await scout(task.url, out_dir, settings)
    except ScoutRefused as refused:
        return ScoutResult(
            lease_token=task.lease_token, status=ScoutStatus.refused, reason=str(refused)
        )
    except ScoutFailed as failed:
        return ScoutResult(
            lease_token=task.lease_token, status=ScoutStatus.failed, reason=str(failed)
        )
    shots = [f"scouts/{task.scout_id}/{Path(path).name}" for path in report["screenshots"]]
    report = report | {"screenshots": shots, "form_fields": form_fields(report)}
    return ScoutResult(
        lease_token=task.lease_token, status=ScoutStatus.done, result=report, screenshots=shots
    )


async def serve(once: bool, interval_seconds: float) -> int:
    worker = WorkerSettings()
    configure_logging(worker.log_level)
    worker.check_production_secrets()
    settings = ScoutSettings()
    queue = ScoutQueue(
        worker.orchestrator_url, worker.worker_token.get_secret_value(), worker.worker_id
    )
    # The worker's /healthz (HEALTH_PORT), for the pod's probes (deploy/k8s/base/scouts.yaml).
    status = WorkerStatus(worker_id=worker.worker_id, state="idle")
    health = await serve_health(status, worker.health_port) if worker.health_port else None
    try:
        while True:
            # A background loop: one bad round (orchestrator away, a browser crash) is logged
            # and the next round runs anyway; --once reports it in its exit status.
            try:
                task = await queue.next()
                if task is not None:
                    log.info(
                        "scouting", extra={"action": "scout.started", "scout_id": task.scout_id}
                    )
                    status.state, status.current_job = "working", f"scout {task.scout_id}"
                    try:
                        result = await run_one(task, worker.artifacts_dir, settings)
                    except Exception as error:  # the browser itself failed: say so to staff
                        log.exception("scout crashed", extra={"action": "scout.crashed"})
                        first = (str(error).splitlines() or [""])[0][:300]
                        result = ScoutResult(
                            lease_token=task.lease_token,
                            status=ScoutStatus.failed,
                            reason=f"the scout stopped: {type(error).__name__}: {first}",
                        )
                    try:
                        await queue.finish(task.scout_id, result)
                    finally:
                        status.state, status.current_job = "idle", None
                    status.jobs_done += 1
                    log.info(
                        "scout posted",
                        extra={
                            "action": "scout.posted",
                            "scout_id": task.scout_id,
                            "status": result.status.value,
                        },
                    )
                    continue
            except (httpx.HTTPError, OSError) as error:
                log.warning(
                    "scout round failed",
                    extra={"action": "scout.round_failed", "error": str(error)},
                )
                if once:
                    return 1
            if once:
                return 0
            await asyncio.sleep(interval_seconds)
    finally:
        status.state = "stopping"
        if health is not None:
            health.close()
        await queue.aclose()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--once", action="store_true", help="work what is queued, then exit")
    parser.add_argument(
        "--interval", type=float, default=5.0, help="seconds between looks when none is queued"
    )


def run_arguments(args: argparse.Namespace) -> int:
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(serve(args.once, args.interval))
    return 0
