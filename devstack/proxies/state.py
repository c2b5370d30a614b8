"""One proxy's mutable state: its failure mode, its counters and its request log file."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import IO, Any

log = logging.getLogger(__name__)


class Mode(StrEnum):
    OK = "ok"
    # Accept the TCP connection, then close it without a word.
    REFUSE = "refuse"
    # Answer every request 502 Bad Gateway.
    ERROR = "error"
    # Answer every request 407, even with the right credentials.
    AUTH = "auth"


@dataclass
class Counters:
    # Every request (or connection, in `refuse` mode) the proxy received.
    requests: int = 0
    # Those it did not relay: refused, 407 to wrong credentials, 403, 400, 502, 504, or cut
    # off mid-way.
    failures: int = 0
    # 407s to requests that carried no credentials at all: the normal first step of Basic
    # auth (Chromium always asks without credentials first), so not failures.
    challenges: int = 0
    tunnels: int = 0
    bytes_to_client: int = 0
    bytes_to_origin: int = 0


@dataclass
class RequestRecord:
    method: str
    target: str
    status: int  # 0: no HTTP answer at all (refused, or cut off before the head)
    bytes_to_client: int = 0
    bytes_to_origin: int = 0
    seconds: float = 0.0
    error: str | None = None
    relayed: bool = False
    challenge: bool = False


@dataclass
class ProxyState:
    """Everything about proxy number `index` (1-based, its position in --ports / PROXY_URLS)."""

    index: int
    port: int
    log_path: Path
    mode: Mode = Mode.OK
    counters: Counters = field(default_factory=Counters)
    _log_file: IO[str] | None = None

    @property
    def name(self) -> str:
        return f"dbolt-proxy-{self.index}"

    def open_log(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        # Line-buffered: a test reading the log right after a response sees the line.
        self._log_file = self.log_path.open("a", encoding="utf-8", buffering=1)

    def close_log(self) -> None:
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def record(self, entry: RequestRecord) -> None:
        """Count one request and append it to this proxy's log, one JSON object a line."""
        self.counters.requests += 1
        if entry.challenge:
            self.counters.challenges += 1
        elif not entry.relayed:
            self.counters.failures += 1
        self.counters.bytes_to_client += entry.bytes_to_client
        self.counters.bytes_to_origin += entry.bytes_to_origin
        line: dict[str, Any] = {
            "ts": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "proxy": self.index,
            "port": self.port,
            "method": entry.method,
            "target": entry.target,
            "status": entry.status,
            "bytes": entry.bytes_to_client,
            "bytes_to_origin": entry.bytes_to_origin,
            "ms": round(entry.seconds * 1000, 1),
        }
        if entry.error:
            line["error"] = entry.error
        if self._log_file is not None:
            self._log_file.write(json.dumps(line) + "\n")
        log.debug(
            "proxied request",
            extra={"action": "proxy.request", **{k: v for k, v in line.items() if k != "ts"}},
        )

    def snapshot(self) -> dict[str, Any]:
        return {"index": self.index, "port": self.port, "mode": self.mode.value} | vars(
            self.counters
        )

    def reset(self) -> None:
        self.mode = Mode.OK
        self.counters = Counters()
