"""Which network destinations a directory site may make the browser reach.

A directory's pages are not ours: a page (or a redirect, a script, an <img>) can point the
worker's browser at the worker's own network — loopback services, the cluster's private
addresses, the cloud metadata endpoint at 169.254.169.254. Only public (globally routable)
unicast addresses are allowed, by literal IP or by every address a name resolves to, unless
the exact `host:port` is in WORKER_ALLOWED_PRIVATE_HOSTS (the local sandbox in development).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

METADATA_ADDRESSES = {
    ipaddress.ip_address("169.254.169.254"),
    ipaddress.ip_address("fd00:ec2::254"),
}
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
RESOLVE_TIMEOUT_SECONDS = 5.0


class DestinationBlocked(Exception):
    """The destination is not a public address and not allowed by configuration."""

    def __init__(self, host: str, port: int, reason: str) -> None:
        super().__init__(f"{host}:{port} is {reason}")
        self.host, self.port, self.reason = host, port, reason


def blocked_reason(ip: IPAddress) -> str | None:
    """Why the browser may not reach `ip`, or None for a public unicast address."""
    if isinstance(ip, ipaddress.IPv6Address):
        # An IPv4 address dressed as IPv6 reaches the IPv4 host: judge that one.
        embedded = ip.ipv4_mapped or (
            ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF) if ip in _NAT64 else None
        )
        if embedded is not None:
            return blocked_reason(embedded)
    if ip in METADATA_ADDRESSES:
        return "the cloud metadata address"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_unspecified:
        return "the unspecified address"
    if ip.is_multicast:
        return "a multicast address"
    if isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT:
        return "a carrier-grade NAT (private) address"
    if ip.is_private:
        return "a private address"
    if not ip.is_global or ip.is_reserved:
        return "a reserved, non-public address"
    return None


def parse_allow_list(text: str) -> frozenset[str]:
    """`host:port` entries, comma- or space-separated (IPv6 as `[::1]:8400`), lower-cased."""
    entries = {entry.strip().lower() for entry in text.replace(",", " ").split()}
    for entry in entries:
        host, _, port = entry.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"WORKER_ALLOWED_PRIVATE_HOSTS: {entry!r} is not host:port")
    return frozenset(entries)


def host_port(host: str, port: int) -> str:
    host = host.lower().strip("[]")
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


@dataclass(frozen=True)
class DestinationPolicy:
    """The allow-list, and the check every browser connection passes before it is made."""

    allowed: frozenset[str] = frozenset()

    def is_allowed(self, host: str, port: int) -> bool:
        return host_port(host, port) in self.allowed

    async def check(self, host: str, port: int) -> list[IPAddress]:
        """The addresses to connect to; raises DestinationBlocked naming the reason.

        Every address a name resolves to must be public (a name with one private address
        among public ones is refused), and the caller connects only to the addresses
        returned here, so a second lookup cannot swap in another (DNS rebinding)."""
        addresses = await resolve(host, port)
        if self.is_allowed(host, port):
            return addresses
        for ip in addresses:
            reason = blocked_reason(ip)
            if reason is not None:
                shown = host if host.strip("[]") == str(ip) else f"{host} ({ip})"
                raise DestinationBlocked(host, port, f"{shown}: {reason}")
        return addresses


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address of `host` (an IP literal is its own address). OSError if none."""
    literal = host.strip("[]")
    try:
        return [ipaddress.ip_address(literal)]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    infos = await asyncio.wait_for(
        loop.getaddrinfo(literal, port, type=socket.SOCK_STREAM), RESOLVE_TIMEOUT_SECONDS
    )
    found: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        ip = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if ip not in found:
            found.append(ip)
    if not found:
        raise OSError(f"{host} has no address")
    return found
