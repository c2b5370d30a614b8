"""The stand-in's task store: what was asked, what the answer will be, and when it is ready.

A task's fate is decided when it is created, under the mode in force then: `ok` solves it,
`fail` makes it end ERROR_CAPTCHA_UNSOLVABLE, `hang` keeps it processing for ever. It becomes
ready `solve_delay_seconds` later; nothing runs in the background, a task settles when it
is next looked at. Routes run on the event loop only, so no lock is needed.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from devstack.twocaptcha import solving
from devstack.twocaptcha.errors import CaptchaApiError
from devstack.twocaptcha.settings import Settings

log = logging.getLogger(__name__)


class Kind(StrEnum):
    IMAGE = "image"
    RECAPTCHA_V2 = "recaptcha_v2"
    HCAPTCHA = "hcaptcha"
    TURNSTILE = "turnstile"


class Mode(StrEnum):
    OK = "ok"
    FAIL = "fail"
    HANG = "hang"


# Roughly 2Captcha's list prices per captcha, in USD, as its API reports them.
COSTS: dict[Kind, Decimal] = {
    Kind.IMAGE: Decimal("0.00100"),
    Kind.RECAPTCHA_V2: Decimal("0.00299"),
    Kind.HCAPTCHA: Decimal("0.00299"),
    Kind.TURNSTILE: Decimal("0.00145"),
}

State = Literal["processing", "ready", "unsolvable"]


@dataclass
class Task:
    id: int
    kind: Kind
    # None: nobody can solve it (no answer in the image, or the `fail` mode).
    answer: str | None
    hangs: bool
    created_at: float  # wall clock, for 2Captcha's createTime / endTime
    ready_at: float  # store clock
    state: State = "processing"
    settled_at: float | None = None  # wall clock

    def solution(self) -> dict[str, str]:
        """The `solution` object 2Captcha returns for this kind of task."""
        assert self.answer is not None
        if self.kind is Kind.IMAGE:
            return {"text": self.answer}
        if self.kind is Kind.RECAPTCHA_V2:
            return {"gRecaptchaResponse": self.answer, "token": self.answer}
        if self.kind is Kind.HCAPTCHA:
            # hCaptcha widgets read h-captcha-response; 2Captcha also returns the
            # g-recaptcha-response spelling that hCaptcha's compatibility mode uses.
            return {"token": self.answer, "gRecaptchaResponse": self.answer}
        return {"token": self.answer}


@dataclass
class KindStats:
    created: int = 0
    solved: int = 0
    failed: int = 0


class TaskStore:
    def __init__(self, settings: Settings, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self.clock = clock
        self.mode = Mode.OK
        self._tasks: dict[int, Task] = {}
        self._pending: set[int] = set()
        self._stats: dict[Kind, KindStats] = {}
        self._ids = itertools.count()
        self._last_id = 0
        self.reset()

    def reset(self) -> None:
        """Forget every task and counter, back to mode `ok`."""
        self.mode = Mode.OK
        self._tasks.clear()
        self._pending.clear()
        self._stats = {kind: KindStats() for kind in Kind}
        # Ids start from the wall clock (and above any id already issued) so that ids from
        # before a restart or reset are never reused: a client polling an old id gets
        # ERROR_NO_SUCH_CAPCHA_ID, not someone else's task.
        self._ids = itertools.count(max(int(time.time() * 1000), self._last_id + 1))

    # -- creating ---------------------------------------------------------------------------
    def create_image(self, image: bytes) -> Task:
        if not image:
            raise CaptchaApiError("ERROR_ZERO_CAPTCHA_FILESIZE")
        if len(image) > solving.MAX_IMAGE_BYTES:
            raise CaptchaApiError("ERROR_TOO_BIG_CAPTCHA_FILESIZE")
        if not solving.is_supported_image(image):
            raise CaptchaApiError("ERROR_IMAGE_TYPE_NOT_SUPPORTED", "PNG, JPEG or GIF only")
        return self._create(Kind.IMAGE, solving.png_answer(image))

    def create_token(self, kind: Kind, website_url: str, website_key: str) -> Task:
        if not website_url:
            raise CaptchaApiError("ERROR_BAD_PARAMETERS", "websiteURL is required")
        if not website_key:
            raise CaptchaApiError("ERROR_BAD_PARAMETERS", "websiteKey is required")
        return self._create(kind, solving.captcha_token(self.settings.shared_secret, website_key))

    def _create(self, kind: Kind, answer: str | None) -> Task:
        self._last_id = next(self._ids)
        task = Task(
            id=self._last_id,
            kind=kind,
            answer=None if self.mode is Mode.FAIL else answer,
            hangs=self.mode is Mode.HANG,
            created_at=time.time(),
            ready_at=self.clock() + self.settings.solve_delay_seconds,
        )
        self._tasks[task.id] = task
        self._pending.add(task.id)
        self._stats[kind].created += 1
        log.info(
            "captcha task created",
            extra={
                "action": "twocaptcha.task_created",
                "task_id": task.id,
                "kind": kind.value,
                "mode": self.mode.value,
                "solvable": task.answer is not None,
            },
        )
        return task

    # -- reading ----------------------------------------------------------------------------
    def get(self, task_id: int) -> Task:
        self._settle_due()
        task = self._tasks.get(task_id)
        if task is None:
            raise CaptchaApiError("ERROR_NO_SUCH_CAPCHA_ID")
        return task

    def stats(self) -> dict[str, Any]:
        self._settle_due()
        per_kind = {kind.value: vars(stats).copy() for kind, stats in self._stats.items()}
        totals = Counter[str]()
        for counts in per_kind.values():
            totals.update(counts)
        return {
            "mode": self.mode.value,
            "processing": len(self._pending),
            "tasks": per_kind,
            "totals": dict(totals),
        }

    def _settle_due(self) -> None:
        now = self.clock()
        for task_id in [t for t in self._pending if self._tasks[t].ready_at <= now]:
            task = self._tasks[task_id]
            if task.hangs:
                continue
            self._pending.discard(task_id)
            task.settled_at = time.time()
            if task.answer is None:
                task.state = "unsolvable"
                self._stats[task.kind].failed += 1
            else:
                task.state = "ready"
                self._stats[task.kind].solved += 1
            log.info(
                "captcha task settled",
                extra={
                    "action": "twocaptcha.task_settled",
                    "task_id": task_id,
                    "state": task.state,
                },
            )
