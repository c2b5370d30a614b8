"""What a listing page shows, read from its HTML with the standard library's parser: its
visible text, and the text of the elements a recipe's `live_check` phase names.

Selectors are the simple CSS most recipes need: a tag, `#id`, `.class`, `[attr]`,
`[attr=value]` (compound, e.g. `span.tel[itemprop=telephone]`) and the descendant
combinator (a space). Anything else (`>`, `+`, `~`, pseudo-classes) is not understood here:
`supported()` says so, and the checker then needs a browser or compares the page's text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

_VOID = {
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
    "source", "track", "wbr",
}  # fmt: skip
_HIDDEN = {"script", "style", "template", "noscript", "head", "title"}
_COMPOUND = re.compile(
    r"^(?P<tag>[a-z][a-z0-9-]*|\*)?"
    r"(?P<rest>(?:#[\w-]+|\.[\w-]+|\[[\w-]+(?:=(?:\"[^\"]*\"|'[^']*'|[\w-]+))?\])*)$",
    re.IGNORECASE,
)
_PART = re.compile(
    r"#(?P<id>[\w-]+)|\.(?P<cls>[\w-]+)"
    r"|\[(?P<attr>[\w-]+)(?:=(?P<val>\"[^\"]*\"|'[^']*'|[\w-]+))?\]"
)


@dataclass(frozen=True)
class Compound:
    tag: str | None
    ids: tuple[str, ...] = ()
    classes: tuple[str, ...] = ()
    attrs: tuple[tuple[str, str | None], ...] = ()

    def matches(self, tag: str, attrs: dict[str, str]) -> bool:
        if self.tag and self.tag != "*" and self.tag != tag:
            return False
        if any(attrs.get("id") != i for i in self.ids):
            return False
        classes = set(attrs.get("class", "").split())
        if not set(self.classes) <= classes:
            return False
        return all(
            name in attrs and (value is None or attrs[name] == value) for name, value in self.attrs
        )


def _compound(text: str) -> Compound | None:
    match = _COMPOUND.match(text)
    if match is None or not text:
        return None
    ids, classes, attrs = [], [], []
    for part in _PART.finditer(match["rest"] or ""):
        if part["id"]:
            ids.append(part["id"])
        elif part["cls"]:
            classes.append(part["cls"])
        else:
            value = part["val"]
            attrs.append((part["attr"].lower(), value.strip("\"'") if value else None))
    tag = match["tag"].lower() if match["tag"] else None
    return Compound(tag, tuple(ids), tuple(classes), tuple(attrs))


def parse_selector(selector: str) -> list[Compound] | None:
    """A descendant chain of compounds, or None when the selector is beyond this subset."""
    parts = selector.split()
    chain = [_compound(p) for p in parts]
    if not chain or any(c is None for c in chain):
        return None
    return [c for c in chain if c is not None]


def supported(selectors: dict[str, str]) -> bool:
    return all(parse_selector(s) is not None for s in selectors.values())


@dataclass
class _Open:
    tag: str
    attrs: dict[str, str]
    capturing: list[str] = field(default_factory=list)


class _Reader(HTMLParser):
    def __init__(self, selectors: dict[str, list[Compound]]) -> None:
        super().__init__(convert_charrefs=True)
        self.selectors = selectors
        self.stack: list[_Open] = []
        self.text: list[str] = []
        self.found: dict[str, list[str]] = {}
        self.hidden = 0

    def _matches(self, chain: list[Compound], tag: str, attrs: dict[str, str]) -> bool:
        if not chain[-1].matches(tag, attrs):
            return False
        ancestors = iter(reversed(self.stack))
        for compound in reversed(chain[:-1]):
            if not any(compound.matches(a.tag, a.attrs) for a in ancestors):
                return False
        return True

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k.lower(): (v or "") for k, v in attrs}
        if tag in _VOID:
            if tag == "br":
                self.handle_data(" ")
            return
        capturing = [
            name
            for name, chain in self.selectors.items()
            if name not in self.found and self._matches(chain, tag, values)
        ]
        for name in capturing:
            self.found[name] = []
        self.stack.append(_Open(tag, values, capturing))
        self.hidden += tag in _HIDDEN

    def handle_endtag(self, tag: str) -> None:
        # Unclosed elements (<p>, <li>) end with the first ancestor that does.
        if not any(o.tag == tag for o in self.stack):
            return
        while self.stack:
            closed = self.stack.pop()
            self.hidden -= closed.tag in _HIDDEN
            self.text.append(" ")
            if closed.tag == tag:
                break

    def handle_data(self, data: str) -> None:
        if self.hidden:
            return
        self.text.append(data)
        for opened in self.stack:
            for name in opened.capturing:
                self.found[name].append(data)


def _squash(parts: list[str]) -> str:
    return " ".join("".join(parts).split())


@dataclass(frozen=True)
class PageReading:
    text: str
    fields: dict[str, str]


def read(html: str, selectors: dict[str, str] | None = None) -> PageReading:
    """The page's visible text, and each selector's first element's text (absent: not found)."""
    chains = {name: parse_selector(s) for name, s in (selectors or {}).items()}
    reader = _Reader({name: chain for name, chain in chains.items() if chain})
    reader.feed(html)
    reader.close()
    fields = {name: _squash(parts) for name, parts in reader.found.items() if _squash(parts)}
    return PageReading(_squash(reader.text), fields)
