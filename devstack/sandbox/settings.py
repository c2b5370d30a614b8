"""What differs between a sandbox run for the demo and one inside a test."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_PORT = 8400
# The published local-dev default, shared with the 2Captcha stand-in (docs/recipes.md): it
# only has to match on one machine, never guards anything real.
DEFAULT_CAPTCHA_SECRET = "local-dev-captcha-secret"  # noqa: S105 - documented local default
# Long enough that the worker's ~15 s page timeout always fires first.
DEFAULT_SLOW_DELAY_SECONDS = 45.0
DEFAULT_JS_FORM_DELAY_MS = 500
# How long the moderated lifecycle directory keeps a new listing from the public.
DEFAULT_MODERATION_SECONDS = 120.0


@dataclass(frozen=True)
class Settings:
    captcha_secret: str = DEFAULT_CAPTCHA_SECRET
    slow_delay_seconds: float = DEFAULT_SLOW_DELAY_SECONDS
    js_form_delay_ms: int = DEFAULT_JS_FORM_DELAY_MS
    # Where the lifecycle directories send their verification emails (the mail catcher
    # locally); None: not sent, only recorded (GET /_admin/lifecycle shows the link).
    smtp_url: str | None = None
    moderation_seconds: float = DEFAULT_MODERATION_SECONDS

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(
            captcha_secret=env.get("CAPTCHA_SHARED_SECRET") or DEFAULT_CAPTCHA_SECRET,
            slow_delay_seconds=float(
                env.get("SANDBOX_SLOW_DELAY_SECONDS") or DEFAULT_SLOW_DELAY_SECONDS
            ),
            js_form_delay_ms=int(env.get("SANDBOX_JS_FORM_DELAY_MS") or DEFAULT_JS_FORM_DELAY_MS),
            smtp_url=env.get("SMTP_URL") or None,
            moderation_seconds=float(
                env.get("SANDBOX_MODERATION_SECONDS") or DEFAULT_MODERATION_SECONDS
            ),
        )
