"""The task store as a FastAPI dependency, and the API-key check both APIs share."""

from __future__ import annotations

import hmac
from typing import Annotated, cast

from fastapi import Depends, Request

from devstack.twocaptcha.errors import CaptchaApiError
from devstack.twocaptcha.tasks import TaskStore


def current_store(request: Request) -> TaskStore:
    return cast(TaskStore, request.app.state.store)


StoreDep = Annotated[TaskStore, Depends(current_store)]


def check_key(store: TaskStore, key: object) -> None:
    """Raise ERROR_KEY_DOES_NOT_EXIST unless `key` is the configured API key."""
    expected = store.settings.api_key.encode()
    if not isinstance(key, str) or not hmac.compare_digest(key.encode(), expected):
        raise CaptchaApiError("ERROR_KEY_DOES_NOT_EXIST")
