"""How the worker starts Chromium: one browser per worker, launched lean unless told not to.

Lean (the default) runs Chromium's headless shell — the same Blink, V8 and network stack as
the desktop browser without its UI layers, and what Playwright itself runs for `headless`.
Measured on this project's sandbox sites (`make bench-worker`), the full browser in its new
headless mode spent ~1.5 CPU-s per submission, most of it starting and compositing each
context's renderer; the shell spends about a third of that and less memory per context.

BROWSER_LEAN=false launches the full browser with the flags the worker used before: the
benchmark's baseline, and a way back if a site ever behaves differently in the shell.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from worker.settings import WorkerSettings

log = logging.getLogger(__name__)

CHROMIUM_ARGS = [
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--no-first-run",
    # WebRTC's UDP would bypass the egress guard (worker/egress_guard.py): proxied only.
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
]
# Flags that change nothing a site can see: no extensions, no component or crash uploads,
# no sound device, shared memory in /tmp rather than a container's small /dev/shm.
LEAN_ARGS = [
    *CHROMIUM_ARGS,
    "--disable-extensions",
    "--disable-component-update",
    "--disable-breakpad",
    "--mute-audio",
    "--disable-dev-shm-usage",
]


def launch_options(settings: WorkerSettings) -> dict[str, Any]:
    """`playwright.chromium.launch(**launch_options(settings))`."""
    if not settings.browser_lean:
        return {"executable_path": settings.chromium_path, "headless": True, "args": CHROMIUM_ARGS}
    shell = settings.headless_shell_path
    if shell and os.access(shell, os.X_OK):
        return {"executable_path": shell, "headless": True, "args": LEAN_ARGS}
    # An image without the shell still works, at the full browser's cost: say so once.
    log.warning(
        "headless shell not found; using the full browser",
        extra={"action": "worker.no_headless_shell", "path": shell},
    )
    return {"executable_path": settings.chromium_path, "headless": True, "args": LEAN_ARGS}
