"""A sandbox of fake business directories on 127.0.0.1, one site per behaviour the worker must
handle (forms of every shape, captchas, duplicates, outages, rate limits, verification).

`python -m devstack.sandbox --port 8400` serves it; tests build it with `create_app(settings)`
or run it on a free port with `SandboxServer`. It records every submission it accepts:
`GET /_admin/submissions` (each with the `Via` it came through), `POST /_admin/reset`.
"""

from __future__ import annotations

from devstack.sandbox.app import create_app
from devstack.sandbox.settings import Settings

__all__ = ["Settings", "create_app"]
