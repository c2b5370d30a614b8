"""In-process sliding-window rate limits for the portal's guessable or costly endpoints.

A `Limit` allows `count` events per `window_seconds` for one key (a client IP, an email
address) within one scope ("sign_in.ip", "code.email", …). `RateLimiter.check` says whether
one more is allowed and, if not, how many seconds to wait (the `Retry-After` value);
`RateLimiter.hit` records one, `take_all` does both for several limits at once, and `refund`
gives an event back, so that an endpoint can reserve a slot before an await (concurrent
requests cannot all pass one check) and still count only what matters (wrong codes, not
right ones).

Memory is bounded: each key keeps at most `count` timestamps, and at most `max_keys` keys are
kept overall — the least recently used are forgotten first (an attacker rotating keys can
only make us forget old counters, never grow the process).

Several portal replicas each hold their own counters, in their own memory: with N replicas
behind a load balancer a client may get up to N times each limit, and a restart forgets
everything. That is accepted here — the limits are there to make guessing a 6-digit code or
hammering Stripe impractical, and N times 5 wrong codes per 15 minutes still is — but a shared
store (Postgres or Redis) is needed if a limit must hold exactly across replicas.

The client's IP is the ASGI peer address (`scope["client"]`). X-Forwarded-For is not read
here: uvicorn rewrites the peer from it only for proxies listed in FORWARDED_ALLOW_IPS (its
trusted-proxy setting; by default only 127.0.0.1), so a client cannot choose its own key.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response


@dataclass(frozen=True)
class Limit:
    scope: str
    count: int
    window_seconds: float


# Sending a sign-in email: Auth also limits per address, this keeps us from being its spammer.
SIGN_IN_PER_IP = Limit("sign_in.ip", 20, 10 * 60)
SIGN_IN_PER_EMAIL = Limit("sign_in.email", 5, 10 * 60)
# Wrong 6-digit codes: with 5 per address per 15 minutes a guess succeeds about once in
# 50,000 hours of trying.
WRONG_CODE_PER_EMAIL = Limit("code.email", 5, 15 * 60)
WRONG_CODE_PER_IP = Limit("code.ip", 20, 15 * 60)
# Asking Stripe about a checkout session (a returning buyer polls every few seconds).
STRIPE_LOOKUP_PER_IP = Limit("stripe_lookup.ip", 120, 10 * 60)
# Showing a directory account's password (customer or staff): plenty for real use, too few
# to sweep every account with a stolen session.
REVEAL_PER_USER = Limit("reveal.user", 10, 10 * 60)

EXTRA_KEY = "portal.rate_limiter"


class RateLimiter:
    def __init__(self, max_keys: int = 50_000, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_keys = max_keys
        self.clock = clock
        self._events: OrderedDict[tuple[str, str], deque[float]] = OrderedDict()

    def _window(self, limit: Limit, key: str) -> deque[float] | None:
        events = self._events.get((limit.scope, key))
        if events is None:
            return None
        cutoff = self.clock() - limit.window_seconds
        while events and events[0] <= cutoff:
            events.popleft()
        return events

    def check(self, limit: Limit, key: str) -> float | None:
        """None if one more event is allowed, else the seconds until one is."""
        events = self._window(limit, key)
        if events is None or len(events) < limit.count:
            return None
        return max(events[0] + limit.window_seconds - self.clock(), 0.001)

    def hit(self, limit: Limit, key: str) -> None:
        scoped = (limit.scope, key)
        events = self._window(limit, key)
        if events is None:
            events = deque(maxlen=limit.count)
            self._events[scoped] = events
            while len(self._events) > self.max_keys:
                self._events.popitem(last=False)
        else:
            self._events.move_to_end(scoped)
        events.append(self.clock())

    def refund(self, limit: Limit, key: str) -> None:
        """Gives back the latest event (an attempt that turned out not to count)."""
        events = self._events.get((limit.scope, key))
        if events:
            events.pop()

    def take(self, limit: Limit, key: str) -> float | None:
        """check, and record the event if it is allowed."""
        wait = self.check(limit, key)
        if wait is None:
            self.hit(limit, key)
        return wait

    def take_all(self, *limited: tuple[Limit, str]) -> float | None:
        """One event against several limits at once: recorded against all of them only if
        every one allows it, else the longest wait. Nothing is awaited between the check and
        the record, so concurrent requests cannot all slip through one free slot."""
        waits = [wait for limit, key in limited if (wait := self.check(limit, key)) is not None]
        if waits:
            return max(waits)
        for limit, key in limited:
            self.hit(limit, key)
        return None


def limiter(extras: dict[str, object]) -> RateLimiter:
    """The process's limiter, kept among the portal state's extras."""
    found = extras.get(EXTRA_KEY)
    if not isinstance(found, RateLimiter):
        found = RateLimiter()
        extras[EXTRA_KEY] = found
    return found


def client_ip(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


def retry_after(wait: float) -> str:
    return str(max(1, math.ceil(wait)))


def too_many(wait: float, message: str, *, as_json: bool = False) -> Response:
    """A bare 429 with Retry-After: plain text, or JSON for the polling script."""
    headers = {"Retry-After": retry_after(wait)}
    if as_json:
        return JSONResponse(
            {"state": "rate_limited", "message": message}, status_code=429, headers=headers
        )
    return PlainTextResponse(message, status_code=429, headers=headers)
