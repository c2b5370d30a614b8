"""Test controls, not part of 2Captcha: make every new task fail or hang, read counters, reset."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from devstack.twocaptcha.store import StoreDep
from devstack.twocaptcha.tasks import Mode

log = logging.getLogger(__name__)

router = APIRouter(prefix="/_admin", tags=["stand-in controls"])


class ModeChange(BaseModel):
    # ok: solve; fail: every new task ends ERROR_CAPTCHA_UNSOLVABLE; hang: new tasks stay
    # processing for ever. Tasks keep the fate they were created with.
    mode: Mode


@router.post("/mode")
async def set_mode(change: ModeChange, store: StoreDep) -> dict[str, str]:
    store.mode = change.mode
    log.info(
        "captcha stand-in mode changed",
        extra={"action": "twocaptcha.mode_changed", "mode": change.mode.value},
    )
    return {"mode": store.mode.value}


@router.get("/stats")
async def stats(store: StoreDep) -> dict[str, Any]:
    """Tasks created / solved / failed, per kind and in total."""
    return store.stats()


@router.post("/reset")
async def reset(store: StoreDep) -> dict[str, Any]:
    """Forget every task and counter; mode back to `ok`."""
    store.reset()
    log.info("captcha stand-in reset", extra={"action": "twocaptcha.reset"})
    return store.stats()
