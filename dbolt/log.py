"""Structured JSON logs with an `action` field, and secrets scrubbed before they are written.

`log.info("claimed job", extra={"action": "job.claimed", "job_id": ...})`. Any value of an
environment variable whose name says it is a secret is replaced by *** wherever it appears,
so a secret pasted into a message or an exception still never reaches a log.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from datetime import UTC, datetime
from typing import Any

_SECRET_NAME = re.compile(r"(KEY|SECRET|TOKEN|PASSWORD|DATABASE_URL|SMTP_URL|PROXY_URLS)", re.I)
_URL_PASSWORD = re.compile(r"(://[^:/@\s]+:)([^@\s]+)(@)")
_RESERVED = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "color_message"}


def _secret_values() -> list[str]:
    values = [v for k, v in os.environ.items() if _SECRET_NAME.search(k) and len(v) >= 6]
    return sorted(values, key=len, reverse=True)


def scrub(text: str, secrets: list[str] | None = None) -> str:
    """Hide secret values and URL passwords in `text`."""
    for secret in _secret_values() if secrets is None else secrets:
        text = text.replace(secret, "***")
    return _URL_PASSWORD.sub(r"\1***\3", text)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "action": getattr(record, "action", None),
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RESERVED and key not in entry:
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return scrub(json.dumps(entry, default=str))


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request at INFO; a polling worker would fill the log with them. Our
    # own calls log what matters, with an action field.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, root.level))
