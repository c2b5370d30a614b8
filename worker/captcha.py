"""2Captcha through its JSON API (createTask / getTaskResult), over httpx.

The PyPI client (2captcha-python 2.1.2) speaks only the legacy in.php/res.php endpoints,
hard-codes https and sets no timeouts, so this is our own small client: TWOCAPTCHA_BASE_URL
points it at 2Captcha or at the local stand-in (docs/decisions/0009-own-2captcha-client.md).
"""

from __future__ import annotations

import asyncio
import base64
import logging
from dataclasses import dataclass
from typing import Any

import httpx

log = logging.getLogger(__name__)

TASK_TYPES = {
    "image": "ImageToTextTask",
    "recaptcha_v2": "RecaptchaV2TaskProxyless",
    "hcaptcha": "HCaptchaTaskProxyless",
    "turnstile": "TurnstileTaskProxyless",
}


class CaptchaUnsolved(Exception):
    """The provider could not solve it (or did not answer in time); the attempt may retry."""


@dataclass
class CaptchaSolver:
    http: httpx.AsyncClient
    api_key: str
    timeout_seconds: float = 90.0
    poll_seconds: float = 1.0

    @classmethod
    def connect(
        cls, base_url: str, api_key: str, timeout_seconds: float = 90.0, poll_seconds: float = 1.0
    ) -> CaptchaSolver:
        http = httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=15.0)
        return cls(http, api_key, timeout_seconds, poll_seconds)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def _call(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            response = await self.http.post(path, json={"clientKey": self.api_key, **body})
            response.raise_for_status()
            answer: dict[str, Any] = response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise CaptchaUnsolved(
                f"captcha provider unreachable: {type(error).__name__}"
            ) from error
        if answer.get("errorId"):
            raise CaptchaUnsolved(f"captcha provider: {answer.get('errorCode', 'error')}")
        return answer

    async def _solve(self, task: dict[str, Any]) -> dict[str, Any]:
        created = await self._call("/createTask", {"task": task})
        task_id = created["taskId"]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout_seconds
        while loop.time() < deadline:
            await asyncio.sleep(self.poll_seconds)
            result = await self._call("/getTaskResult", {"taskId": task_id})
            if result.get("status") == "ready":
                solution: dict[str, Any] = result.get("solution", {})
                return solution
        raise CaptchaUnsolved(f"captcha not solved within {self.timeout_seconds:.0f} s")

    async def solve_image(self, image: bytes) -> str:
        solution = await self._solve(
            {"type": TASK_TYPES["image"], "body": base64.b64encode(image).decode()}
        )
        return str(solution.get("text", ""))

    async def solve_token(self, kind: str, website_url: str, website_key: str) -> str:
        solution = await self._solve(
            {"type": TASK_TYPES[kind], "websiteURL": website_url, "websiteKey": website_key}
        )
        token = solution.get("gRecaptchaResponse") or solution.get("token")
        if not token:
            raise CaptchaUnsolved("captcha provider returned no token")
        return str(token)
