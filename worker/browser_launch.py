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
from typing import Any, Protocol

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

# Chromium reads only the last --enable-features on its command line, and Playwright passes
# its own before ours: a list of ours must repeat Playwright's (tests/e2e/test_browser_memory
# checks that none of them is lost after a Playwright upgrade).
PLAYWRIGHT_ENABLED_FEATURES = ("CDPScreenshotNewSurface", "SkipListAccountsWithoutGaiaCookies")
# The network service in the browser process instead of a utility process of its own: one
# process fewer, ~10 MiB PSS (`make bench-worker`). Nothing a site can see changes: the same
# network stack, each context's own proxy (the egress guard) and cookie jar. What it costs: a
# crash of the network stack ends the whole browser rather than being restarted. The worker
# then launches a new one (worker/browser_keeper.py); the attempts under way fail as a
# browser_error and are retried while their directories have attempts left.
MEMORY_ARGS = [
    "--enable-features=" + ",".join((*PLAYWRIGHT_ENABLED_FEATURES, "NetworkServiceInProcess2")),
]
# Weighed and not kept (measured with /usr/lib/chromium/chromium-headless-shell 156, see
# docs/worker-safety.md, "Browser memory"):
# - --disable-software-rasterizer: the GPU process shrinks by ~15 MiB but WebGL disappears,
#   which bot checks on real directories look at (a fidelity change).
# - --single-process: the shell dies when Playwright opens a page.
# - --in-process-gpu, --num-raster-threads=1, --disable-gpu-compositing, --js-flags=--lite-mode
#   or --max-semi-space-size: no measurable saving; --no-zygote: more, not less (each
#   renderer then carries what the zygote shared).
# - --renderer-process-limit and --disable-features=site-per-process,IsolateOrigins: no
#   saving here. Chromium never puts two browser contexts in one renderer, whatever the
#   limit, so one customer's submission never shares a process with another's; and site
#   isolation only splits cross-site iframes, which the sandbox sites do not have. It stays on.


class LaunchSettings(Protocol):
    """What a launch reads: WorkerSettings, or the scout's settings (worker/scout/settings.py)."""

    chromium_path: str
    headless_shell_path: str
    browser_lean: bool
    browser_network_in_process: bool


def launch_options(settings: LaunchSettings) -> dict[str, Any]:
    """`playwright.chromium.launch(**launch_options(settings))`."""
    if not settings.browser_lean:
        return {"executable_path": settings.chromium_path, "headless": True, "args": CHROMIUM_ARGS}
    args = LEAN_ARGS + (MEMORY_ARGS if settings.browser_network_in_process else [])
    shell = settings.headless_shell_path
    if shell and os.access(shell, os.X_OK):
        return {"executable_path": shell, "headless": True, "args": args}
    # An image without the shell still works, at the full browser's cost: say so once.
    log.warning(
        "headless shell not found; using the full browser",
        extra={"action": "worker.no_headless_shell", "path": shell},
    )
    return {"executable_path": settings.chromium_path, "headless": True, "args": args}
