"""Where a request is going, and whether this proxy may go there.

Only loopback is allowed (127.0.0.0/8, ::1 and the name `localhost`): this machine must never
send traffic anywhere else. The decision is made from the request alone, before any
connection and without DNS: `localhost` is mapped to 127.0.0.1 here rather than resolved, and
every other name is refused, so no lookup can smuggle an outside address in.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from devstack.proxies.wire import HttpError


@dataclass(frozen=True)
class Target:
    host: str  # as the client wrote it, e.g. "localhost" or "127.0.0.1"
    port: int
    path: str  # origin-form: path and query, "/" at least

    @property
    def authority(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def host_header(self) -> str:
        """The Host field for the origin: the port is left out when it is the default."""
        return self.authority if self.port != 80 else self.authority.rsplit(":", 1)[0]

    @property
    def loggable(self) -> str:
        """The target without its query string, which may carry keys (e.g. `res.php?key=`)."""
        path = self.path.split("?", 1)[0]
        return f"http://{self.authority}{path}"


def connect_address(host: str) -> str:
    """The loopback address to connect to for `host`; HttpError(403) for anything else."""
    if host.lower() == "localhost":
        return "127.0.0.1"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise HttpError(403, f"only loopback targets are allowed, not {host!r}") from None
    if not address.is_loopback:
        raise HttpError(403, f"only loopback targets are allowed, not {host!r}")
    return str(address)


def absolute_target(uri: str) -> Target:
    """The target of an absolute-form request (`GET http://host:port/path HTTP/1.1`)."""
    try:
        parts = urlsplit(uri)
        port = parts.port or 80
    except ValueError:
        raise HttpError(400, "malformed request target") from None
    if parts.scheme.lower() != "http" or not parts.hostname:
        raise HttpError(400, "a proxy request needs an absolute http:// target")
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return Target(parts.hostname, port, path)


def authority_target(authority: str) -> Target:
    """The target of a CONNECT request (`CONNECT host:port HTTP/1.1`)."""
    try:
        parts = urlsplit(f"//{authority}")
        port = parts.port
    except ValueError:
        raise HttpError(400, "malformed CONNECT target") from None
    if not parts.hostname or port is None or parts.path or parts.username is not None:
        raise HttpError(400, "CONNECT needs host:port")
    return Target(parts.hostname, port, "")
