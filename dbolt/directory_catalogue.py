"""The catalogue's own rules, beyond what the JSON Schema can say, and its counts.

`make directories-check` runs check_catalogue over directories.json (in `make test`): every
entry valid against the schema, ids unique, a real site disabled until a verified recipe runs
it, its addresses https, its submit page on its own site (or the notes say why not), its
countries real ISO codes and its notes saying where the facts came from. Each problem names
the entry and the field.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from dbolt.directories import (
    DEFAULT_DIRECTORIES,
    DirectoryListError,
    load_directories,
)
from dbolt.form_signatures import SIGNATURES_DIR, recipe_signature_problems, signatures_dir
from dbolt.typed_values import country_codes

# Hosts the devstack sandbox serves its sites from: entries there are test fixtures, not real
# directories, and run over plain http.
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
# Second-level suffixes under which a site is three labels long (yell.co.uk, not co.uk).
TWO_LABEL_SUFFIXES = frozenset(
    {"co.uk", "org.uk", "ltd.uk", "plc.uk", "com.au", "net.au", "org.au", "gc.ca", "qc.ca"}
)
UNKNOWN_REQUIREMENTS = "unknown"


def is_real(entry: dict[str, Any]) -> bool:
    """A directory on the internet (not one of the sandbox's local sites)."""
    return urlsplit(str(entry["homepage"])).hostname not in LOCAL_HOSTS


def site_of(url: str) -> str:
    """The registrable site of a URL: www.yell.com -> yell.com, biz.yelp.co.uk -> yelp.co.uk."""
    labels = (urlsplit(url).hostname or "").split(".")
    size = 3 if ".".join(labels[-2:]) in TWO_LABEL_SUFFIXES else 2
    return ".".join(labels[-size:])


def _where(index: int, entry: dict[str, Any], field: str) -> str:
    return f"$.directories[{index}] ({entry['id']}).{field}"


def _entry_problems(index: int, entry: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    known = country_codes()
    code = entry.get("country")
    if code is not None and code not in known:
        problems.append(f"{_where(index, entry, 'country')}: {code!r} is not an ISO 3166-1 code")
    for field in ("countries", "phone_countries"):
        for code in entry.get(field) or []:
            if code not in known:
                problems.append(
                    f"{_where(index, entry, field)}: {code!r} is not an ISO 3166-1 code"
                )
    if entry["enabled"] and entry.get("captcha_kind") == "unknown":
        problems.append(
            f"{_where(index, entry, 'captcha_kind')}: an enabled directory names its captcha "
            "kind (scout it first)"
        )
    if entry["enabled"] and "requirements" in entry and entry["requirements"] is None:
        problems.append(
            f"{_where(index, entry, 'requirements')}: an enabled directory says what listing "
            "there takes (scout it first)"
        )
    if not is_real(entry):
        return problems
    # The sandbox's auto-mode sites run enabled without a recipe on purpose; a real site
    # never does: a guess there burns every customer's attempt.
    if entry["enabled"] and not (
        entry["mode"] == "recipe" and entry.get("recipe") and entry.get("verified_at")
    ):
        problems.append(
            f"{_where(index, entry, 'enabled')}: a real directory stays disabled until a "
            "recipe (mode recipe) is verified (verified_at)"
        )
    for field in ("homepage", "submit_url"):
        url = entry.get(field)
        if url is not None and urlsplit(url).scheme != "https":
            problems.append(f"{_where(index, entry, field)}: a real site's address is https")
    if not str(entry.get("notes") or "").strip():
        problems.append(
            f"{_where(index, entry, 'notes')}: a real site's notes say where its facts came from"
        )
    submit_url = entry.get("submit_url")
    if submit_url:
        submit_host = urlsplit(submit_url).hostname or ""
        if site_of(submit_url) != site_of(entry["homepage"]) and submit_host not in str(
            entry.get("notes") or ""
        ):
            problems.append(
                f"{_where(index, entry, 'submit_url')}: {submit_host} is not on "
                f"{site_of(entry['homepage'])}; name it in the notes if that is right"
            )
    return problems


def check_catalogue(entries: list[dict[str, Any]], signatures: Path = SIGNATURES_DIR) -> list[str]:
    """Every broken catalogue rule, naming the entry and the field; empty when all hold.

    The entries have already passed the schema (load_directories / validate_document)."""
    problems: list[str] = []
    for index, entry in enumerate(entries):
        problems += _entry_problems(index, entry)
    problems += check_form_signatures(entries, signatures)
    return problems


def check_form_signatures(
    entries: list[dict[str, Any]], directory: Path = SIGNATURES_DIR
) -> list[str]:
    """Each recipe against its site's stored form signature (issue 17, item 5): the digest,
    the captcha kind, a wall's account requirement and every #id the recipe uses
    (dbolt/form_signatures.py). Whether the live pages still match is a browser's question:
    devstack/sandbox/signatures.py, in tests/e2e/test_scout.py."""
    return recipe_signature_problems(entries, directory)


def catalogue_stats(entries: list[dict[str, Any]]) -> dict[str, Counter[str]]:
    """Real entries counted by country (global for none) and by requirement (unknown for
    an entry whose requirements nobody knows yet, none for one with none)."""
    real = [entry for entry in entries if is_real(entry)]
    by_country: Counter[str] = Counter()
    by_requirement: Counter[str] = Counter()
    enabled: Counter[str] = Counter()
    for entry in real:
        countries = entry.get("countries") or ([entry["country"]] if entry.get("country") else [])
        for country in countries or ["global"]:
            by_country[country] += 1
        requirements = entry.get("requirements", [])
        if requirements is None:
            by_requirement[UNKNOWN_REQUIREMENTS] += 1
        for requirement in requirements or ([] if requirements is None else ["none"]):
            by_requirement[requirement] += 1
        enabled["enabled" if entry["enabled"] else "disabled"] += 1
    return {
        "real directories": Counter({"total": len(real)}) + enabled,
        "by country": by_country,
        "by requirement": by_requirement,
    }


def format_stats(stats: dict[str, Counter[str]]) -> str:
    lines: list[str] = []
    for title, counts in stats.items():
        lines.append(f"{title}:")
        lines += [f"  {name:<22} {count:>4}" for name, count in sorted(counts.items())]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """`python -m dbolt.directory_catalogue check|stats [FILE]`; exit 1 naming each problem."""
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] not in ("check", "stats"):
        print("usage: python -m dbolt.directory_catalogue check|stats [FILE]", file=sys.stderr)
        return 2
    path = Path(args[1]) if len(args) > 1 else DEFAULT_DIRECTORIES
    try:
        entries = load_directories(path)
    except DirectoryListError as error:
        print(error, file=sys.stderr)
        return 1
    if args[0] == "stats":
        print(format_stats(catalogue_stats(entries)))
        return 0
    problems = check_catalogue(entries, signatures_dir(path))
    if problems:
        print(f"{path} breaks the catalogue rules:", file=sys.stderr)
        print("\n".join(f"  - {problem}" for problem in problems), file=sys.stderr)
        return 1
    real = sum(1 for entry in entries if is_real(entry))
    print(f"{path}: {len(entries)} entries ({real} real sites) keep the catalogue rules")
    return 0


if __name__ == "__main__":
    sys.exit(main())
