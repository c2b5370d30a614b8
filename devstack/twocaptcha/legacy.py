"""2Captcha's legacy API: `in.php` to submit, `res.php` to poll, as 2captcha-python 2.1.2 calls it.

Answers are plain text (`OK|<id>`, `OK|<answer>`, `CAPCHA_NOT_READY`, `ERROR_…`) unless the
request says `json=1`, then `{"status": 1|0, "request": ...}`; always HTTP 200. Parameters
come from the query string or the form (urlencoded or multipart, for `method=post` uploads).
Covered: `method` = post | base64 | userrecaptcha | hcaptcha | turnstile; `action` = get |
getbalance | reportgood | reportbad.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from devstack.twocaptcha.errors import CaptchaApiError
from devstack.twocaptcha.solving import decode_image_body
from devstack.twocaptcha.store import StoreDep, check_key
from devstack.twocaptcha.tasks import Kind, Task, TaskStore

router = APIRouter(tags=["2captcha legacy API"])

# method -> (kind, the parameter carrying the site key, the error when it is missing)
_TOKEN_METHODS: dict[str, tuple[Kind, str, str]] = {
    "userrecaptcha": (Kind.RECAPTCHA_V2, "googlekey", "ERROR_GOOGLEKEY"),
    "hcaptcha": (Kind.HCAPTCHA, "sitekey", "ERROR_BAD_PARAMETERS"),
    "turnstile": (Kind.TURNSTILE, "sitekey", "ERROR_BAD_PARAMETERS"),
}


async def _params(request: Request) -> tuple[dict[str, str], dict[str, bytes]]:
    params = dict(request.query_params)
    files: dict[str, bytes] = {}
    if request.method == "POST":
        async with request.form() as form:
            for name, value in form.multi_items():
                if isinstance(value, str):
                    params[name] = value
                else:
                    files[name] = await value.read()
    return params, files


def _reply(params: dict[str, str], ok: bool, value: str, prefix: str = "OK|") -> Response:
    if params.get("json") == "1":
        return JSONResponse({"status": 1 if ok else 0, "request": value})
    return PlainTextResponse(f"{prefix}{value}" if ok else value)


def _submit(store: TaskStore, params: dict[str, str], files: dict[str, bytes]) -> Task:
    method = params.get("method", "")
    if method == "post":
        return store.create_image(files.get("file", b""))
    if method == "base64":
        body = params.get("body", "")
        if not body:
            raise CaptchaApiError("ERROR_ZERO_CAPTCHA_FILESIZE")
        image = decode_image_body(body)
        if image is None:
            raise CaptchaApiError("ERROR_UPLOAD", "body is not base64")
        return store.create_image(image)
    if method in _TOKEN_METHODS:
        kind, key_param, missing_key = _TOKEN_METHODS[method]
        if not params.get("pageurl"):
            raise CaptchaApiError("ERROR_PAGEURL")
        if not params.get(key_param):
            raise CaptchaApiError(missing_key, f"{key_param} is required")
        return store.create_token(kind, params["pageurl"], params[key_param])
    raise CaptchaApiError("ERROR_NO_SUCH_METHOD", f"method {method!r}")


@router.api_route("/in.php", methods=["GET", "POST"])
async def in_php(request: Request, store: StoreDep) -> Response:
    params, files = await _params(request)
    try:
        check_key(store, params.get("key"))
        task = _submit(store, params, files)
    except CaptchaApiError as error:
        return _reply(params, False, error.code)
    return _reply(params, True, str(task.id))


def _poll(store: TaskStore, params: dict[str, str]) -> tuple[bool, str]:
    task_id = params.get("id", "")
    if not task_id.isdigit():
        raise CaptchaApiError("ERROR_WRONG_ID_FORMAT")
    try:
        task = store.get(int(task_id))
    except CaptchaApiError:
        raise CaptchaApiError("ERROR_WRONG_CAPTCHA_ID") from None
    if task.state == "processing":
        return False, "CAPCHA_NOT_READY"
    if task.state == "unsolvable" or task.answer is None:
        raise CaptchaApiError("ERROR_CAPTCHA_UNSOLVABLE")
    return True, task.answer


@router.api_route("/res.php", methods=["GET", "POST"])
async def res_php(request: Request, store: StoreDep) -> Response:
    params, _ = await _params(request)
    action = params.get("action", "")
    try:
        check_key(store, params.get("key"))
        if action == "get":
            ok, value = _poll(store, params)
            return _reply(params, ok, value)
        if action == "getbalance":
            return _reply(params, True, f"{store.balance:.5f}", prefix="")
        if action in ("reportgood", "reportbad"):
            _report(store, params, correct=action == "reportgood")
            return _reply(params, True, "OK_REPORT_RECORDED", prefix="")
        raise CaptchaApiError("ERROR_EMPTY_ACTION", f"action {action!r}")
    except CaptchaApiError as error:
        return _reply(params, False, error.code)


def _report(store: TaskStore, params: dict[str, Any], correct: bool) -> None:
    task_id = str(params.get("id", ""))
    if not task_id.isdigit():
        raise CaptchaApiError("ERROR_WRONG_ID_FORMAT")
    try:
        store.report(int(task_id), correct=correct)
    except CaptchaApiError:
        raise CaptchaApiError("ERROR_WRONG_CAPTCHA_ID") from None
