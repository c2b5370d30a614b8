"""What `make up` shows in its terminal, and where the rest of the services' logs go.

Every service logs JSON lines (dbolt/log.py), INFO and up, to its stdout/stderr, as it does in
production. `make up` reads those lines: each one goes whole to `.local/logs/<service>.log`,
and only the ones at or above the console level (WARNING unless LOG_CONSOLE_LEVEL says
otherwise) are shown, shortened to one readable line. So the services log exactly as they do
in a container, and only the developer's terminal is quieter.

Lines that are not JSON (a traceback before logging was set up, Deno's or Chromium's
chatter) go to the file only, unless the console level is INFO or lower; when a service dies,
the last lines of its file are shown (`tail`), which is where such a traceback is.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from collections import deque
from pathlib import Path
from typing import IO, TextIO

CONSOLE_LEVEL_ENV = "LOG_CONSOLE_LEVEL"
DEFAULT_CONSOLE_LEVEL = "WARNING"


def console_level(environ: dict[str, str] | None = None) -> int:
    """The level from LOG_CONSOLE_LEVEL (debug, info, warning, error), WARNING by default."""
    name = (environ if environ is not None else dict(os.environ)).get(CONSOLE_LEVEL_ENV, "")
    level = logging.getLevelName(name.strip().upper() or DEFAULT_CONSOLE_LEVEL)
    if not isinstance(level, int):
        raise SystemExit(
            f"{CONSOLE_LEVEL_ENV}={name!r} is not a log level: use debug, info, warning or error"
        )
    return level


class Console:
    """The terminal: whole lines, one writer at a time (services' pumps run in threads)."""

    def __init__(self, level: int = logging.WARNING, stream: TextIO | None = None) -> None:
        self.level = level
        self._stream = stream
        self._lock = threading.Lock()

    def line(self, text: str = "") -> None:
        with self._lock:
            # sys.stdout looked up each time: a test's capture replaces it.
            print(text, file=self._stream or sys.stdout, flush=True)

    def service_line(self, service: str, raw: str) -> None:
        shown = summarize(service, raw, self.level)
        if shown is not None:
            self.line(shown)


def summarize(service: str, raw: str, level: int) -> str | None:
    """One console line for a service's log line, or None when it is below `level`."""
    try:
        entry = json.loads(raw)
    except ValueError:
        entry = None
    if not isinstance(entry, dict) or not isinstance(entry.get("level"), str):
        return f"{service}: {raw}" if level <= logging.INFO and raw.strip() else None
    entry_level = logging.getLevelName(entry["level"].upper())
    if not isinstance(entry_level, int) or entry_level < level:
        return None
    # One line each: the message's first, and of a traceback only its last (the exception);
    # the whole of both is in the service's log file.
    message = (str(entry.get("msg", "")).strip().splitlines() or [""])[0]
    text = f"{service} {entry['level'].upper()}: {message}"
    details = [f"{key}={entry[key]}" for key in ("action", "error") if entry.get(key)]
    if details:
        text += f" ({', '.join(details)})"
    if exc_lines := str(entry.get("exc") or "").strip().splitlines():
        text += f"\n    {exc_lines[-1]} (traceback in .local/logs/{service}.log)"
    return text


def pump(source: IO[bytes], log_file: IO[bytes], service: str, console: Console) -> None:
    """Copy a child's output into its log file, line by line, showing what the console
    wants; returns at end of file (the child exited)."""
    with source, log_file:
        for raw in iter(source.readline, b""):
            log_file.write(raw)
            log_file.flush()
            console.service_line(service, raw.decode("utf-8", "replace").rstrip("\r\n"))


def start_pump(
    source: IO[bytes], log_file: IO[bytes], service: str, console: Console
) -> threading.Thread:
    thread = threading.Thread(
        target=pump, args=(source, log_file, service, console), name=f"log-{service}", daemon=True
    )
    thread.start()
    return thread


def tail(path: Path, lines: int = 15) -> list[str]:
    """The last lines of a log file (empty if there is none)."""
    try:
        with path.open("rb") as file:
            last = deque(file, maxlen=lines)
    except OSError:
        return []
    return [raw.decode("utf-8", "replace").rstrip("\r\n") for raw in last]
