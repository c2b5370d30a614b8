"""`make directories-check`: the committed catalogue keeps its rules, and a broken one fails
naming each entry and field."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from dbolt.directories import DB_CAPTCHA_KINDS, DB_REQUIREMENTS, for_database, load_directories
from dbolt.directory_catalogue import catalogue_stats, check_catalogue, is_real, site_of

ROOT = Path(__file__).resolve().parents[2]
REAL: dict[str, Any] = {
    "id": "real-site",
    "name": "A real directory",
    "homepage": "https://www.example-directory.co.uk",
    "submit_url": "https://add.example-directory.co.uk/business",
    "country": "GB",
    "tier": "growth",
    "priority": 1,
    "captcha_kind": "unknown",
    "requirements": None,
    "mode": "auto",
    "enabled": False,
    "verified_at": None,
    "notes": "Facts from: a public top-citation list, https://example.org/list.",
}


def _check(tmp_path: Path, entries: list[dict[str, Any]]) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "directories.json"
    path.write_text(json.dumps({"version": 1, "directories": entries}))
    return subprocess.run(
        [sys.executable, "-m", "dbolt.directory_catalogue", "check", str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )


def test_the_committed_catalogue_keeps_the_rules() -> None:
    entries = load_directories(ROOT / "directories.json")
    assert check_catalogue(entries) == []
    real = [entry for entry in entries if is_real(entry)]
    assert len(real) >= 150
    assert not [entry["id"] for entry in real if entry["enabled"]]
    stats = catalogue_stats(entries)
    assert {"US", "GB", "CA", "AU"} <= set(stats["by country"])


def test_a_broken_catalogue_fails_naming_entry_and_field(tmp_path: Path) -> None:
    enabled_guess = REAL | {"id": "enabled-guess", "enabled": True}
    plain_http = REAL | {"id": "plain-http", "homepage": "http://www.example-directory.co.uk"}
    no_notes = REAL | {"id": "no-notes", "notes": " "}
    bad_country = REAL | {"id": "bad-country", "country": "UK", "countries": ["GB", "XX"]}
    elsewhere = REAL | {"id": "elsewhere", "submit_url": "https://forms.other-site.com/add"}
    documented = elsewhere | {
        "id": "documented",
        "notes": REAL["notes"] + " Listings are added at forms.other-site.com, its owner.",
    }
    result = _check(
        tmp_path, [REAL, enabled_guess, plain_http, no_notes, bad_country, elsewhere, documented]
    )
    assert result.returncode == 1, result.stdout
    err = result.stderr
    assert "$.directories[1] (enabled-guess).enabled: a real directory stays disabled" in err
    assert "(enabled-guess).captcha_kind" in err
    assert "(enabled-guess).requirements" in err
    assert "$.directories[2] (plain-http).homepage: a real site's address is https" in err
    assert "$.directories[3] (no-notes).notes" in err
    assert "$.directories[4] (bad-country).country: 'UK' is not an ISO 3166-1 code" in err
    assert "(bad-country).countries: 'XX'" in err
    assert "$.directories[5] (elsewhere).submit_url: forms.other-site.com" in err
    assert "real-site" not in err
    assert "documented" not in err


def test_a_schema_error_fails_the_check_too(tmp_path: Path) -> None:
    result = _check(tmp_path, [REAL | {"captcha_kind": "maybe"}])
    assert result.returncode == 1
    assert "$.directories[0].captcha_kind" in result.stderr
    twice = _check(tmp_path, [REAL, copy.deepcopy(REAL)])
    assert twice.returncode == 1
    assert "$.directories[1].id: 'real-site' already used" in twice.stderr


def test_site_of_keeps_second_level_suffixes() -> None:
    assert site_of("https://biz.yelp.co.uk/x") == "yelp.co.uk"
    assert site_of("https://www.truelocal.com.au") == "truelocal.com.au"
    assert site_of("https://business.google.com") == "google.com"


def test_the_synced_row_holds_only_what_the_table_takes() -> None:
    row = for_database(REAL | {"requirements": ["account", "paid_listing"]})
    assert "captcha_kind" not in row
    assert row["requirements"] == ["account"]
    assert set(row["requirements"]) <= DB_REQUIREMENTS
    kept = for_database(REAL | {"captcha_kind": "hcaptcha", "requirements": None})
    assert kept["captcha_kind"] in DB_CAPTCHA_KINDS
    assert kept["requirements"] is None
