"""The periodic check for directories whose failure rate jumped (alerts_check_directory_failures,
service role), run by the portal process once its staff dashboard is in use.

The check is idempotent (one alert, refreshed or cleared), so every portal replica may run it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from portal.state import PortalState

log = logging.getLogger(__name__)

EXTRA_KEY = "staff.alert_check"
INTERVAL_SECONDS = 60.0


class DirectoryFailureCheck:
    def __init__(self, state: PortalState, interval: float = INTERVAL_SECONDS) -> None:
        self.state = state
        self.interval = interval
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self._run(), name="staff-directory-failure-check")

    async def check_once(self) -> None:
        async with self.state.db.as_service() as q:
            row = await q.fetch_one("portal_staff_check_directory_failures")
        result = row["result"] if row else {}
        if result.get("alert") in ("raised", "cleared"):
            log.warning(
                f"directory failure-rate alert {result['alert']}",
                extra={"action": f"alert.directory_failure_rate_{result['alert']}"},
            )

    async def _run(self) -> None:
        while True:
            try:
                await self.check_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                # Catch, log and continue: one failed round (the database restarting) must
                # not stop the check for the rest of the process's life.
                log.exception(
                    "directory failure check failed", extra={"action": "staff.check_failed"}
                )
            await asyncio.sleep(self.interval)

    async def aclose(self) -> None:
        task, self.task = self.task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


def ensure_running(state: PortalState) -> None:
    check = state.extras.get(EXTRA_KEY)
    if not isinstance(check, DirectoryFailureCheck):
        check = DirectoryFailureCheck(state)
        state.extras[EXTRA_KEY] = check
    check.start()
