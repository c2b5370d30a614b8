"""The worker's lean launch, started for real (Chromium's headless shell): the network
service runs inside the browser process, Playwright's own features survive our
--enable-features (Chromium keeps only the last one), and what sites and artifacts rely on
still works: WebGL (bot checks look at it) and screenshots."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright

from bench.worker import procfs
from worker.browser_launch import launch_options
from worker.settings import WorkerSettings

SETTINGS = WorkerSettings()
pytestmark = pytest.mark.skipif(
    not os.access(SETTINGS.headless_shell_path, os.X_OK), reason="no headless shell"
)
WEBGL = """() => {
  const gl = document.createElement('canvas').getContext('webgl');
  return gl ? gl.getParameter(gl.VERSION) : null;
}"""


# Other modules' browsers may live in this pytest process (xdist runs several modules in
# one worker): this launch carries a switch of its own (Chromium ignores unknown ones) so its
# browser process, and only the processes below it, are read.
MARKER = f"--dbolt-test-launch={uuid.uuid4()}"


def _args(pid: int) -> list[str]:
    with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
        # Chromium's children rewrite their title with spaces between the arguments.
        return re.split(r"[\0 ]", cmdline.read().decode(errors="replace"))


def _command_lines() -> tuple[list[str], list[list[str]]]:
    """This launch's browser process's arguments, and those of every process below it."""
    (main,) = [
        pid
        for pid in procfs.groups(os.getpid())[procfs.CHROMIUM]
        if MARKER in (args := _args(pid)) and not any(a.startswith("--type=") for a in args)
    ]
    return _args(main), [_args(pid) for pid in procfs.descendants(main)]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        options = launch_options(SETTINGS)
        launched = playwright.chromium.launch(**{**options, "args": [*options["args"], MARKER]})
        yield launched
        launched.close()


def test_the_lean_launch_keeps_what_sites_see_with_one_process_fewer(browser: Browser) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.set_content("<h1>Bluebird Bakery</h1>")
    assert page.evaluate(WEBGL), "WebGL must stay available (SwiftShader)"
    assert len(page.screenshot()) > 1000

    main, lines = _command_lines()
    prefix = "--enable-features="
    enables = [a.removeprefix(prefix) for a in main if a.startswith(prefix)]
    wanted = {feature for value in enables for feature in value.split(",") if feature}
    # Chromium reads the last --enable-features only: it must name every feature asked for.
    assert set(enables[-1].split(",")) >= wanted, enables
    assert "NetworkServiceInProcess2" in wanted
    assert not [
        line for line in lines if "--utility-sub-type=network.mojom.NetworkService" in line
    ], "the network service runs in a utility process of its own"
    context.close()
