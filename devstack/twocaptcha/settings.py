"""What the 2Captcha stand-in is configured with, from the environment by default."""

from __future__ import annotations

import os
from dataclasses import dataclass

DEFAULT_API_KEY = "local-dev-2captcha-key"
DEFAULT_SHARED_SECRET = "local-dev-captcha-secret"  # noqa: S105 - the documented local default


@dataclass(frozen=True)
class Settings:
    # The only clientKey / key accepted; anything else gets ERROR_KEY_DOES_NOT_EXIST.
    api_key: str = DEFAULT_API_KEY
    # Shared with the sandbox directories, which verify the tokens issued here.
    shared_secret: str = DEFAULT_SHARED_SECRET
    # How long a task stays "processing": long enough that a client polls at least once,
    # as it must against the real service.
    solve_delay_seconds: float = 0.5

    @classmethod
    def from_env(cls) -> Settings:
        """TWOCAPTCHA_API_KEY and CAPTCHA_SHARED_SECRET, else the local defaults."""
        return cls(
            api_key=os.environ.get("TWOCAPTCHA_API_KEY") or DEFAULT_API_KEY,
            shared_secret=os.environ.get("CAPTCHA_SHARED_SECRET") or DEFAULT_SHARED_SECRET,
        )
