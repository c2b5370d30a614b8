"""2Captcha's JSON API as the worker calls it: createTask, then getTaskResult until ready.

Every endpoint is a POST of a JSON object carrying `clientKey`; errors are HTTP 200 with
`errorId` > 0 (raised as CaptchaApiError and rendered by the app's handler). The body is
parsed by hand rather than by a pydantic model so that bad input gets 2Captcha's error codes,
not FastAPI's 422.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request

from devstack.twocaptcha.errors import CaptchaApiError
from devstack.twocaptcha.solving import decode_image_body
from devstack.twocaptcha.store import StoreDep, check_key
from devstack.twocaptcha.tasks import COSTS, Kind, Task, TaskStore

router = APIRouter(tags=["2captcha JSON API"])

TASK_TYPES: dict[str, Kind] = {
    "ImageToTextTask": Kind.IMAGE,
    "RecaptchaV2TaskProxyless": Kind.RECAPTCHA_V2,
    "HCaptchaTaskProxyless": Kind.HCAPTCHA,
    "TurnstileTaskProxyless": Kind.TURNSTILE,
}


async def _authorised_body(request: Request, store: TaskStore) -> dict[str, Any]:
    try:
        body = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        raise CaptchaApiError("ERROR_BAD_PARAMETERS", "the body is not JSON") from None
    if not isinstance(body, dict):
        raise CaptchaApiError("ERROR_BAD_PARAMETERS", "the body must be a JSON object")
    check_key(store, body.get("clientKey"))
    return body


def _text(task: dict[str, Any], name: str) -> str:
    value = task.get(name, "")
    if not isinstance(value, str):
        raise CaptchaApiError("ERROR_BAD_PARAMETERS", f"{name} must be a string")
    return value.strip()


def _task_id(body: dict[str, Any]) -> int:
    value = body.get("taskId")
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    raise CaptchaApiError("ERROR_NO_SUCH_CAPCHA_ID", "taskId must be an integer")


@router.post("/createTask")
async def create_task(request: Request, store: StoreDep) -> dict[str, Any]:
    body = await _authorised_body(request, store)
    task = body.get("task")
    if not isinstance(task, dict) or not task:
        raise CaptchaApiError("ERROR_TASK_ABSENT")
    task_type = task.get("type")
    kind = TASK_TYPES.get(task_type) if isinstance(task_type, str) else None
    if kind is None:
        raise CaptchaApiError("ERROR_TASK_NOT_SUPPORTED", f"type {task_type!r}")
    created: Task
    if kind is Kind.IMAGE:
        encoded = _text(task, "body")
        if not encoded:
            raise CaptchaApiError("ERROR_ZERO_CAPTCHA_FILESIZE", "body is empty")
        image = decode_image_body(encoded)
        if image is None:
            raise CaptchaApiError("ERROR_BAD_PARAMETERS", "body is not base64")
        created = store.create_image(image)
    else:
        created = store.create_token(kind, _text(task, "websiteURL"), _text(task, "websiteKey"))
    return {"errorId": 0, "taskId": created.id}


@router.post("/getTaskResult")
async def get_task_result(request: Request, store: StoreDep) -> dict[str, Any]:
    body = await _authorised_body(request, store)
    task = store.get(_task_id(body))
    if task.state == "processing":
        return {"errorId": 0, "status": "processing"}
    if task.state == "unsolvable":
        raise CaptchaApiError("ERROR_CAPTCHA_UNSOLVABLE")
    return {
        "errorId": 0,
        "status": "ready",
        "solution": task.solution(),
        "cost": f"{COSTS[task.kind]:.5f}",
        "ip": request.client.host if request.client else "127.0.0.1",
        "createTime": int(task.created_at),
        "endTime": int(task.settled_at or task.created_at),
        "solveCount": 1,
    }
