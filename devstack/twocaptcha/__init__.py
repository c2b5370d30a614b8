"""Stand-in for the 2Captcha HTTP API (`TWOCAPTCHA_BASE_URL`), as wide as DirectoryBolt uses it.

The JSON API's `/createTask` and `/getTaskResult` (what worker/captcha.py calls), for image
captchas and the reCAPTCHA v2, hCaptcha and Turnstile token kinds. Nobody solves anything: an
image's answer is read from its PNG `tEXt` chunk `dbolt-answer`, and a token is an HMAC of the
site key that the sandbox directories verify with the same `CAPTCHA_SHARED_SECRET`.
`/_admin/*` lets tests make the provider fail or hang. Run it with `python -m devstack.twocaptcha`.
"""

from __future__ import annotations

from devstack.twocaptcha.app import create_app
from devstack.twocaptcha.settings import Settings
from devstack.twocaptcha.solving import captcha_token, png_answer

__all__ = ["Settings", "captcha_token", "create_app", "png_answer"]
