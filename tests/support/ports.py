"""Ports for the servers a test starts, and for addresses a test needs dead.

A port is chosen seconds before its server binds it. Taken from the kernel (bind to port 0),
it lies in the ephemeral range (32768-60999), where any other process, such as a parallel
pytest worker's server or a client socket, may be handed it in between. So ports come from
below that range, from a slice of its own per pytest-xdist worker, handed out in turn: no
other worker and no kernel allocation ever picks one of ours."""

from __future__ import annotations

import itertools
import os
import random
import socket
from collections.abc import Iterator

_FIRST = 20_000
_SLICE = 1_500
# "gw3" under pytest-xdist; a plain pytest run is worker 0.
_WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
_START = _FIRST + _WORKER * _SLICE
# Two separate pytest runs on one machine (two checkouts) share worker 0's slice: each starts
# its turn at a random place in it, so they do not walk the same ports in step.
_OFFSET = random.randrange(_SLICE)
_ORDER: list[int] = [*range(_START + _OFFSET, _START + _SLICE), *range(_START, _START + _OFFSET)]
_turns: Iterator[int] = itertools.cycle(_ORDER)


def _bindable(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_port() -> int:
    """A loopback port nothing listens on now and no other test process will pick."""
    for port in itertools.islice(_turns, _SLICE):
        if _bindable(port):
            return port
    raise RuntimeError(f"no free port in {_START}-{_START + _SLICE - 1}")


def free_ports(count: int) -> list[int]:
    """`count` distinct free ports (free_port() never repeats one within a slice's turn)."""
    return [free_port() for _ in range(count)]
