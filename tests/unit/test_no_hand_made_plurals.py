"""Counts and spans of time are put into words in one place, dbolt/words.py. Everywhere else
(Python modules, templates, scripts) says them through count_of / noun_for / duration, so "1
directories", "about under a minute" and a tenth spelling of "minute(s)" cannot come back.

The checks read the tracked source as text, so each looks for one precise construction:
- a string chosen by comparing a count with 1: `"directory" if n == 1 else "directories"`
  (a choice between some words and none, as `note if number == 1 else ""`, is not a plural),
  `{% if total != 1 %}s{% endif %}`, `n === 1 ? " field" : " fields"`;
- a plural suffix picked by a condition: `'s' if n != 1`, `else "es"`;
- a lazy plural inside a string: `context(s)`, `problem(s)`;
- a count put straight before a plural noun: f"{n} directories", `{{ n }} directories`,
  which reads "1 directories" the day n is 1.
"""

from __future__ import annotations

import io
import re
import subprocess
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORDS = "dbolt/words.py"

# The browser cannot call dbolt.words; the one count a script words itself is the form's
# error summary, which mirrors count_of for its own noun (the server's summary uses count_of).
JS_ALLOWED = {("portal/static/business_form.js", "Please correct ")}

CHOSEN_BY_ONE = re.compile(
    r"f?(['\"])[^'\"\n]*\1\s+if\s[^\n]*?[!=]=\s*1\s+else\s+f?(['\"])(?!\2)"  # Python / Jinja
    r"|\{%-?\s*if\s[^%]*[!=]=\s*1\s*-?%\}"  # a Jinja block around a suffix
    r"|[!=]==?\s*1\s*\?\s*['\"]"  # JavaScript
)
SUFFIX_CHOSEN = re.compile(r"(['\"])(s|es|ies)\1\s+if\b|\belse\s+f?(['\"])(s|es|ies)\3")
LAZY_PLURAL = re.compile(r"(?<!http)(?<=[a-z])\((s|es|ies)\)")
# Nouns a count is said with; "characters" is left out: its counts are fixed limits (80, 500).
NOUNS = (
    "directories|listings|minutes|hours|days|businesses|jobs|emails|messages|items|fields"
    "|refunds|attempts|retries|problems|paths|contexts|sites"
)
COUNT_BEFORE_NOUN_PY = re.compile(r"\{[^{}]+\}\s+(" + NOUNS + r")\b")
COUNT_BEFORE_NOUN_HTML = re.compile(r"\}\}\s*(</strong>)?\s*(" + NOUNS + r")\b")


def _tracked(*patterns: str) -> list[str]:
    found = subprocess.run(
        ["git", "ls-files", *patterns], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    return [path for path in found if not path.startswith("tests/") and path != WORDS]


def _python_strings(source: str) -> list[tuple[int, str]]:
    """(line, text) of each string literal (f-strings included: one token before 3.12)."""
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    return [(token.start[0], token.string) for token in tokens if token.type == tokenize.STRING]


def _hits(path: str) -> list[str]:
    source = (ROOT / path).read_text(encoding="utf-8")
    lines = source.splitlines()
    found = [
        f"{path}:{number}: {line.strip()}"
        for number, line in enumerate(lines, start=1)
        if CHOSEN_BY_ONE.search(line) or SUFFIX_CHOSEN.search(line)
    ]
    if path.endswith(".py"):
        for number, text in _python_strings(source):
            if LAZY_PLURAL.search(text) or COUNT_BEFORE_NOUN_PY.search(text):
                found.append(f"{path}:{number}: {text.strip()[:120]}")
    elif path.endswith(".html"):
        for number, line in enumerate(lines, start=1):
            text = re.sub(r"\{[{%#].*?[}%#]\}", " ", line)  # the words, not the code
            if LAZY_PLURAL.search(text) or COUNT_BEFORE_NOUN_HTML.search(line):
                found.append(f"{path}:{number}: {line.strip()[:120]}")
    return found


@pytest.mark.parametrize("kind", ["*.py", "*.html"])
def test_python_and_templates_say_counts_through_dbolt_words(kind: str) -> None:
    hits = [hit for path in _tracked(kind) for hit in _hits(path)]
    assert hits == [], "use dbolt.words (count_of, noun_for, duration):\n" + "\n".join(hits)


def test_scripts_word_no_count_of_their_own_but_the_forms_summary() -> None:
    hits = [
        hit
        for path in _tracked("*.js")
        for hit in _hits(path)
        if not any(path == allowed and text in hit for allowed, text in JS_ALLOWED)
    ]
    assert hits == [], "\n".join(hits)


@pytest.mark.parametrize(
    "line",
    [
        "label = 'directory' if n == 1 else 'directories'",
        "f\"{minutes} minute{'s' if minutes != 1 else ''}\"",
        "{{ total }} job{% if total != 1 %}s{% endif %}.",
        '<p>{{ n }} {{ "field" if n == 1 else "fields" }}</p>',
        'var said = n + (n === 1 ? " field" : " fields");',
        "word = 'business' + ('' if n == 1 else 'es')",
    ],
)
def test_the_checks_catch_what_they_are_for(line: str) -> None:
    assert CHOSEN_BY_ONE.search(line) or SUFFIX_CHOSEN.search(line)


def test_the_string_checks_catch_lazy_plurals_and_bare_counts() -> None:
    assert LAZY_PLURAL.search("running job(s)")
    assert not LAZY_PLURAL.search("must be an http(s) URL")
    assert COUNT_BEFORE_NOUN_PY.search("to {job['directories']} directories.")
    assert not COUNT_BEFORE_NOUN_PY.search("to {count_of(n, 'directory')}.")
    assert COUNT_BEFORE_NOUN_HTML.search("up to <strong>{{ n }}</strong> directories.")
    assert not COUNT_BEFORE_NOUN_HTML.search('{{ n | count_of("directory") }}')
