"""A form signature's digest: what is stored next to the signature (jsonb) and compared to
notice that a directory's form changed (docs/recipes.md, "Form signatures").

The signature itself is read from a page by the worker (worker/scout/signature.py); the
digest lives here, in the shared library, so every service compares digests the same way.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(sig: dict[str, Any]) -> str:
    """The one text a signature has: sorted keys, no spaces, UTF-8 kept as is."""
    return json.dumps(sig, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def signature_digest(sig: dict[str, Any]) -> str:
    """sha256 hex of the canonical JSON (sort_keys, separators=(',', ':'))."""
    return hashlib.sha256(canonical_json(sig).encode("utf-8")).hexdigest()
