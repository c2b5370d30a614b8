"""Reading URLs held in settings: which host a URL names, and the passwords inside it.

Hosts are judged by what is written, never by resolving them: a production check must not
depend on the DNS of the moment, and names like `orchestrator` only resolve inside a cluster.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterator
from urllib.parse import unquote, urlsplit

# Names that only mean something on this machine or inside a private network.
_LOOPBACK_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")
_INTERNAL_SUFFIXES = (".localhost", ".local", ".internal", ".cluster.local", ".svc", ".lan")
_LIBPQ_PASSWORD = re.compile(r"(?:^|\s)password\s*=\s*'?([^'\s]+)")
_IPV4_SHORTHAND = re.compile(r"^(0x[0-9a-f]+|[0-9]+)(\.(0x[0-9a-f]+|[0-9]+)){0,3}$", re.I)


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The IP address `host` spells, including shorthands such as `127.1` or `2130706433`
    that the C resolver accepts (and an attacker would use to slip past a string check)."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if not _IPV4_SHORTHAND.match(host):
            return None
        try:
            address = ipaddress.ip_address(socket.inet_aton(host))
        except OSError:
            return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def host_of(url: str) -> str:
    """The lower-case host of `url` ('' when it has none or cannot be parsed)."""
    try:
        return (urlsplit(url.strip()).hostname or "").lower().rstrip(".")
    except ValueError:
        return ""


def is_loopback_host(host: str) -> bool:
    """`host` is this machine itself (in a pod: the pod, never another service)."""
    if host in _LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    address = _address(host)
    return address is not None and (address.is_loopback or address.is_unspecified)


def is_internal_host(host: str) -> bool:
    """`host` cannot be a public internet host: loopback, private, link-local (cloud metadata),
    reserved addresses, single-label names and private-network suffixes."""
    if not host or is_loopback_host(host):
        return True
    address = _address(host)
    if address is not None:
        return not address.is_global or address.is_multicast
    return "." not in host or host.endswith(_INTERNAL_SUFFIXES)


def url_passwords(text: str) -> Iterator[str]:
    """Every password written inside `text`: in each comma-separated URL's user info (as
    written and percent-decoded) and in a libpq `password=` keyword."""
    for part in text.split(","):
        if "://" not in part:
            continue
        try:
            password = urlsplit(part.strip()).password
        except ValueError:
            continue
        if password:
            yield password
            if unquote(password) != password:
                yield unquote(password)
    yield from _LIBPQ_PASSWORD.findall(text)
