"""Structured JSON logs with an `action` field, and secrets scrubbed before they are written.

`log.info("claimed job", extra={"action": "job.claimed", "job_id": ...})`. Every secret the
service's settings hold (registered as they are built, see dbolt/settings.py) and any value
of an environment variable whose name says it is a secret is replaced by *** wherever it
appears — message, extra fields, exception text — so a secret pasted into a message or an
exception still never reaches a log. URL passwords are hidden whatever they are.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

_SECRET_NAME = re.compile(r"(KEY|SECRET|TOKEN|PASSWORD|DATABASE_URL|SMTP_URL|PROXY_URLS)", re.I)
_URL_PASSWORD = re.compile(r"(://[^:/@\s]+:)([^@\s]+)(@)")
_RESERVED = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "color_message"}
# Shorter values cannot be told apart from ordinary text; nor can these words (the local
# cluster's password is `postgres`: hiding it would garble every log naming the database).
_MIN_SECRET_LENGTH = 6
_ORDINARY_WORDS = frozenset({"postgres", "password", "changeme", "secret"})

# Replaced, never mutated: threads formatting log lines read it without a lock.
_registered: frozenset[str] = frozenset()


def register_secrets(values: Iterable[str]) -> None:
    """Hide these values from every log line from now on (the settings' secrets)."""
    global _registered
    _registered = _registered | {
        value
        for value in values
        if len(value) >= _MIN_SECRET_LENGTH and value.lower() not in _ORDINARY_WORDS
    }


def _secret_values() -> list[str]:
    values = {
        v for k, v in os.environ.items() if _SECRET_NAME.search(k) and len(v) >= _MIN_SECRET_LENGTH
    }
    # Longest first, so a secret containing another is hidden whole.
    return sorted(values | _registered, key=len, reverse=True)


def scrub(text: str, secrets: list[str] | None = None) -> str:
    """Hide secret values and URL passwords in `text`."""
    for secret in _secret_values() if secrets is None else secrets:
        text = text.replace(secret, "***")
    return _URL_PASSWORD.sub(r"\1***\3", text)


def _scrub_value(value: Any, secrets: list[str]) -> Any:
    """`value` as JSON-ready data with every string scrubbed. Scrubbed before encoding: a
    secret holding a quote or a non-ASCII character is escaped by json.dumps, and the escaped
    form would slip past a scrub of the encoded line."""
    if isinstance(value, str):
        return scrub(value, secrets)
    if isinstance(value, bool | int | float) or value is None:
        return value
    if isinstance(value, dict):
        return {scrub(str(k), secrets): _scrub_value(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_scrub_value(item, secrets) for item in value]
    return scrub(str(value), secrets)


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
        secrets = _secret_values()
        return scrub(json.dumps(_scrub_value(entry, secrets)), secrets)


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request at INFO; a polling worker would fill the log with them. Our
    # own calls log what matters, with an action field.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, root.level))
