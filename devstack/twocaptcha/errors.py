"""2Captcha's error codes, with the numeric ids its JSON API reports them under.

Errors are answered with HTTP 200 as `{"errorId": n, "errorCode": ..., "errorDescription": ...}`:
clients must look at the body, never only at the status code.
"""

from __future__ import annotations

from typing import Any

# id, description — ids and wording follow 2Captcha's published error-code table.
_ERRORS: dict[str, tuple[int, str]] = {
    "ERROR_KEY_DOES_NOT_EXIST": (1, "Your API key is incorrect"),
    # 2Captcha also refuses images under 100 bytes; the stand-in only refuses empty ones, so
    # the sandbox may serve tiny PNGs.
    "ERROR_ZERO_CAPTCHA_FILESIZE": (3, "The image is empty"),
    "ERROR_TOO_BIG_CAPTCHA_FILESIZE": (4, "Image size is more than 100 kB"),
    "ERROR_CAPTCHA_UNSOLVABLE": (12, "We are unable to solve your captcha"),
    "ERROR_IMAGE_TYPE_NOT_SUPPORTED": (15, "The image can not be processed"),
    "ERROR_NO_SUCH_CAPCHA_ID": (16, "You've provided incorrect captcha ID in the request"),
    "ERROR_TASK_ABSENT": (22, "task property is missing in your createTask method call"),
    "ERROR_TASK_NOT_SUPPORTED": (23, "The task type is not supported"),
    "ERROR_BAD_PARAMETERS": (
        110,
        "The required captcha parameters in your request are missing or have incorrect format",
    ),
}


class CaptchaApiError(Exception):
    """A request 2Captcha would refuse; `code` is its ERROR_* code."""

    def __init__(self, code: str, detail: str = "") -> None:
        if code not in _ERRORS:
            raise ValueError(f"unknown 2Captcha error code {code!r}")
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail

    def json_body(self) -> dict[str, Any]:
        error_id, description = _ERRORS[self.code]
        if self.detail:
            description = f"{description} ({self.detail})"
        return {"errorId": error_id, "errorCode": self.code, "errorDescription": description}
