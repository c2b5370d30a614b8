"""Stripe's form encoding: `line_items[0][price]=…&metadata[tier]=…` to nested data.

stripe-python sends lists as `name[0]`, `name[1]`; curl users and fetch code often send
`name[]`. Both become Python lists; hashes become dicts; every leaf stays a string, as Stripe
parses it, and is validated by the endpoint that reads it.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

from devstack.stripe.errors import StripeError, bad_param

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_SEGMENT = re.compile(r"\[([^\[\]]*)\]")
MAX_BODY_BYTES = 256 * 1024


def decode_form(body: bytes) -> dict[str, Any]:
    if len(body) > MAX_BODY_BYTES:
        raise StripeError(413, "Request body too large.")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise StripeError(400, "Invalid request: the body is not UTF-8.") from None
    return decode_pairs(parse_qsl(text, keep_blank_values=True))


def decode_pairs(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    root: dict[str | int, Any] = {}
    for key, value in pairs:
        match = _KEY.match(key)
        if match is None:
            raise bad_param(key, f"Invalid parameter name: {key}")
        path: list[str | int | None] = [match.group(1)]
        for segment in _SEGMENT.findall(match.group(2)):
            path.append(None if segment == "" else int(segment) if segment.isdigit() else segment)
        _insert(root, path, value, key)
    decoded = _listify(root, "")
    assert isinstance(decoded, dict)
    return decoded


def _insert(node: dict[str | int, Any], path: list[str | int | None], value: str, key: str) -> None:
    *parents, last = path
    for segment in parents:
        slot = _slot(node, segment)
        child = node.setdefault(slot, {})
        if not isinstance(child, dict):
            raise bad_param(key, f"Invalid parameter: {key} mixes a value and a hash.")
        node = child
    slot = _slot(node, last)
    if isinstance(node.get(slot), dict):
        raise bad_param(key, f"Invalid parameter: {key} mixes a value and a hash.")
    # A repeated plain key keeps its last value, as Rack-style parsers do.
    node[slot] = value


def _slot(node: dict[str | int, Any], segment: str | int | None) -> str | int:
    if segment is None:  # `name[]`: append after the highest index so far
        return max((k for k in node if isinstance(k, int)), default=-1) + 1
    return segment


def _listify(node: Any, name: str) -> Any:
    if not isinstance(node, dict):
        return node
    keys = list(node)
    if keys and all(isinstance(k, int) for k in keys):
        indices = sorted(keys)
        if indices != list(range(len(indices))):
            raise bad_param(name, f"Invalid array: {name} must be indexed from 0 without gaps.")
        return [_listify(node[i], f"{name}[{i}]") for i in indices]
    if any(isinstance(k, int) for k in keys):
        raise bad_param(name, f"Invalid hash: {name} mixes array indices and keys.")
    return {k: _listify(v, f"{name}[{k}]" if name else str(k)) for k, v in node.items()}
