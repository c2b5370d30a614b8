"""directories.json: the schema rejects bad entries naming each bad field's path; sync
upserts and disables, all or nothing."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import psycopg
import pytest

from dbolt.cli import main as dbolt
from dbolt.directories import (
    DirectoryListError,
    load_directories,
    sync_directories,
    validate_document,
)

ROOT = Path(__file__).resolve().parents[2]
GOOD_ENTRY: dict[str, Any] = {
    "id": "local-plain",
    "name": "Plain form",
    "homepage": "http://127.0.0.1:9999/plain",
    "tier": "starter",
    "priority": 1,
    "mode": "auto",
    "enabled": True,
}


def test_the_committed_list_is_valid() -> None:
    entries = load_directories(ROOT / "directories.json")
    assert len(entries) >= 10
    # Real directories stay disabled until someone verifies a recipe against the live site.
    assert not [e["id"] for e in entries if e["enabled"] and not e.get("verified_at")]


def test_every_bad_field_is_reported_with_its_path() -> None:
    bad = copy.deepcopy(GOOD_ENTRY) | {"tier": "platinum", "homepage": "ftp://x", "mode": "recipe"}
    with pytest.raises(DirectoryListError) as raised:
        validate_document({"version": 1, "directories": [GOOD_ENTRY, bad]})
    problems = "\n".join(raised.value.problems)
    assert "$.directories[1].tier" in problems
    assert "$.directories[1].homepage" in problems
    assert "$.directories[1]: 'recipe' is a required property" in problems
    assert "$.directories[0]" not in problems


def test_duplicate_ids_are_refused() -> None:
    with pytest.raises(
        DirectoryListError, match=r"\$\.directories\[1\]\.id: 'local-plain' already used"
    ):
        validate_document({"version": 1, "directories": [GOOD_ENTRY, GOOD_ENTRY]})


def test_malformed_json_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "directories.json"
    path.write_text('{"version": 1,\n "directories": [}')
    with pytest.raises(DirectoryListError, match="line 2"):
        load_directories(path)


def test_sync_upserts_and_disables_unlisted_entries(conn: psycopg.Connection[Any]) -> None:
    second = GOOD_ENTRY | {"id": "local-multi", "name": "Multi-step"}
    first_sync = sync_directories(conn, [GOOD_ENTRY, second])
    assert first_sync["upserted"] == 2
    renamed = GOOD_ENTRY | {"name": "Plain form v2"}
    result = sync_directories(conn, [renamed])
    assert result["disabled"] >= 1
    rows = conn.execute(
        "select id, name, enabled from directories where id like 'local-%' order by id"
    ).fetchall()
    assert rows == [
        ("local-multi", "Multi-step", False),
        ("local-plain", "Plain form v2", True),
    ]


def test_sync_of_an_invalid_row_changes_nothing(conn: psycopg.Connection[Any]) -> None:
    from dbolt.sql import InvalidArgument

    before = conn.execute("select count(*) from directories").fetchone()
    with pytest.raises(InvalidArgument, match="directories_recipe_mode_has_recipe"):
        sync_directories(conn, [GOOD_ENTRY | {"id": "local-x", "mode": "recipe"}])
    assert conn.execute("select count(*) from directories").fetchone() == before


def test_cli_validates_and_syncs(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"version": 1, "directories": [GOOD_ENTRY]}))
    assert dbolt(["directories", "sync", "--file", str(good)]) == 0
    assert "1 upserted" in capsys.readouterr().out

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"version": 1, "directories": [GOOD_ENTRY | {"priority": -1}]}))
    assert dbolt(["directories", "validate", "--file", str(bad)]) == 2
    assert "$.directories[0].priority" in capsys.readouterr().err
