"""Stripe's idempotent requests: the `Idempotency-Key` header on a POST.

As Stripe does: the first request made with a key has its status and body saved, and any
later request with the same key gets that saved answer (with `Idempotent-Replayed: true`)
instead of being executed again, so a client that retries after a timeout or a crash makes
one refund, not two. The same key with other parameters is refused (`idempotency_error`). A
request refused while its parameters were being validated saves nothing (Stripe keeps only
results of requests that started executing); one refused while executing (e.g. the charge
is already refunded) is saved like a success. Keys are kept for the process's life (Stripe:
at least 24 hours). Routes run on the event loop only, so no lock is needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from devstack.stripe.errors import StripeError

MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class Saved:
    path: str
    params: dict[str, Any]
    status: int
    body: dict[str, Any]


class IdempotencyKeys:
    def __init__(self) -> None:
        self._saved: dict[str, Saved] = {}

    @staticmethod
    def key_of(header: str | None) -> str | None:
        if header is None:
            return None
        if not header or len(header) > MAX_KEY_LENGTH:
            raise StripeError(
                400,
                f"Invalid Idempotency-Key: it must be 1 to {MAX_KEY_LENGTH} characters long.",
                type_="idempotency_error",
            )
        return header

    def replay(self, key: str | None, path: str, params: dict[str, Any]) -> Saved | None:
        if key is None:
            return None
        saved = self._saved.get(key)
        if saved is None:
            return None
        if saved.path != path or saved.params != params:
            raise StripeError(
                400,
                "Keys for idempotent requests can only be used with the same parameters they "
                f"were first used with. Try using a key other than '{key}' if you meant to "
                "execute a different request.",
                type_="idempotency_error",
            )
        return saved

    def save(
        self, key: str | None, path: str, params: dict[str, Any], status: int, body: dict[str, Any]
    ) -> None:
        if key is not None:
            self._saved[key] = Saved(path, params, status, body)
