"""The stored form signatures against directories.json, without a browser (what `make
directories-check` runs): the digest, the captcha kind, a wall's account requirement and every
#id a recipe acts on. That the live sandbox still matches them is tests/e2e/test_scout.py."""

from __future__ import annotations

import copy
import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from dbolt.directories import load_directories
from dbolt.directory_catalogue import check_catalogue, check_form_signatures, main
from dbolt.form_signatures import canonical_json, signature_digest, stored_signature

ROOT = Path(__file__).resolve().parents[2]
SIGNATURES = ROOT / "directories" / "signatures"


@pytest.fixture
def entries() -> list[dict[str, Any]]:
    return copy.deepcopy(load_directories(ROOT / "directories.json"))


def _entry(entries: list[dict[str, Any]], entry_id: str) -> dict[str, Any]:
    [entry] = [e for e in entries if e["id"] == entry_id]
    return entry


def test_the_digest_is_sha256_of_sorted_compact_json() -> None:
    signature = {"walls": [], "captcha": "none", "forms": [{"id": "café"}]}
    text = '{"captcha":"none","forms":[{"id":"café"}],"walls":[]}'
    assert canonical_json(signature) == text
    assert signature_digest(signature) == hashlib.sha256(text.encode()).hexdigest()


def test_every_stored_signature_keeps_directories_json(entries: list[dict[str, Any]]) -> None:
    assert check_form_signatures(entries, SIGNATURES) == []
    # Every sandbox entry that answers has one; the walled sites are signed without an entry.
    signed = {path.stem for path in SIGNATURES.glob("*.json")}
    assert {"sandbox-plain", "sandbox-multistep", "lifecycle-verify"} <= signed
    assert {"sandbox-login-wall", "sandbox-bot-wall"} <= signed


def test_a_recipe_selector_missing_from_the_page_is_named(entries: list[dict[str, Any]]) -> None:
    plain = _entry(entries, "sandbox-plain")
    plain["recipe"]["steps"][1]["selector"] = "#biz-title"
    assert check_form_signatures(entries, SIGNATURES) == [
        f"sandbox-plain ({SIGNATURES}/sandbox-plain.json): "
        "recipe selector #biz-title is not on the signed page"
    ]


def test_a_captcha_kind_the_page_does_not_show_is_named(entries: list[dict[str, Any]]) -> None:
    _entry(entries, "sandbox-recaptcha")["captcha_kind"] = "hcaptcha"
    [problem] = check_form_signatures(entries, SIGNATURES)
    assert problem.endswith("captcha_kind is 'hcaptcha', the page shows 'recaptcha_v2'")


def test_a_walled_page_needs_the_account_requirement(entries: list[dict[str, Any]]) -> None:
    _entry(entries, "lifecycle-verify")["requirements"] = ["email_verification"]
    [problem] = check_form_signatures(entries, SIGNATURES)
    assert problem.endswith("behind a login wall; requirements must list 'account'")


def test_a_tampered_signature_is_named(entries: list[dict[str, Any]], tmp_path: Path) -> None:
    shutil.copytree(SIGNATURES, tmp_path, dirs_exist_ok=True)
    document = stored_signature("sandbox-strict", tmp_path)
    assert document is not None
    document["signature"]["captcha"] = "image"
    (tmp_path / "sandbox-strict.json").write_text(json.dumps(document))
    assert check_form_signatures(entries, tmp_path) == [
        f"sandbox-strict ({tmp_path}/sandbox-strict.json): "
        "the stored digest is not its signature's digest",
        f"sandbox-strict ({tmp_path}/sandbox-strict.json): "
        "captcha_kind is 'none', the page shows 'image'",
    ]


def test_the_catalogue_check_includes_the_signatures(
    entries: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)  # the signatures sit next to directories.json, as the file does
    _entry(entries, "sandbox-hcaptcha")["captcha_kind"] = "none"
    assert [p for p in check_catalogue(entries) if "sandbox-hcaptcha" in p] == [
        "sandbox-hcaptcha (directories/signatures/sandbox-hcaptcha.json): "
        "captcha_kind is 'none', the page shows 'hcaptcha'"
    ]


def test_the_check_finds_the_signatures_next_to_the_catalogue_from_anywhere(
    entries: list[dict[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run from another directory, the check still reads directories/signatures next to the
    catalogue file; a catalogue without them is a problem, not a pass that compared nothing."""

    monkeypatch.chdir(tmp_path)
    assert main(["check", str(ROOT / "directories.json")]) == 0
    assert check_form_signatures(entries, tmp_path / "nowhere") == [
        f"no stored form signatures at {tmp_path / 'nowhere'}"
    ]
