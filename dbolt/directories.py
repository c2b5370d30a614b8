"""directories.json: validate against its JSON Schema and sync into the `directories` table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg
from jsonschema import Draft202012Validator, FormatChecker
from psycopg.types.json import Jsonb

from dbolt.sql import Queries

SCHEMA_PATH = Path(__file__).resolve().with_name("directories.schema.json")
# The master list, relative to the checkout the commands run in.
DEFAULT_DIRECTORIES = Path("directories.json")


class DirectoryListError(ValueError):
    """directories.json is unreadable or invalid; `problems` lists each one with its path."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"{source} is invalid:\n" + "\n".join(f"  - {p}" for p in problems))


def _path(parts: list[str | int]) -> str:
    text = "$"
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def validate_document(document: Any, source: str = "directories.json") -> list[dict[str, Any]]:
    """Return the entries, or raise DirectoryListError naming the path of every bad field."""
    schema = json.loads(SCHEMA_PATH.read_text())
    validator = Draft202012Validator(schema, format_checker=FormatChecker())
    problems = [
        f"{_path(list(error.absolute_path))}: {error.message}"
        for error in sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    ]
    if not problems:
        seen: dict[str, int] = {}
        for index, entry in enumerate(document["directories"]):
            if entry["id"] in seen:
                problems.append(
                    f"$.directories[{index}].id: {entry['id']!r} already used by "
                    f"$.directories[{seen[entry['id']]}]"
                )
            seen.setdefault(entry["id"], index)
    if problems:
        raise DirectoryListError(source, problems)
    entries: list[dict[str, Any]] = document["directories"]
    return entries


def load_directories(path: Path) -> list[dict[str, Any]]:
    try:
        document = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise DirectoryListError(
            str(path), [f"line {error.lineno} column {error.colno}: {error.msg}"]
        ) from error
    return validate_document(document, str(path))


def sync_directories(
    conn: psycopg.Connection[Any], entries: list[dict[str, Any]]
) -> dict[str, int]:
    """Upsert every entry and disable the ones no longer listed, in one transaction."""
    with conn.transaction():
        row = Queries.load().fetch_one(conn, "directories_sync", entries=Jsonb(entries))
    assert row is not None
    result: dict[str, int] = row["result"]
    return result
