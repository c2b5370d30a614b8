"""podman's Docker-compatible API socket, which testcontainers talks to (there is no Docker
engine on these machines). Started only if nobody is serving it, and stopped only if we
started it: another engineer's run may be using the same socket."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

DEFAULT_SOCKET = Path("/run/podman/podman.sock")


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: Path) -> None:
        super().__init__("localhost", timeout=5)
        self._path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(5)
        self.sock.connect(str(self._path))


def is_answering(path: Path) -> bool:
    """True if a Docker-compatible API answers `GET /_ping` on the socket."""
    if not path.exists():
        return False
    connection = _UnixHTTPConnection(path)
    try:
        connection.request("GET", "/_ping")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


@contextmanager
def podman_socket(path: Path = DEFAULT_SOCKET, timeout: float = 30.0) -> Iterator[str]:
    """Yield a DOCKER_HOST URL for `path`, serving it with `podman system service` if needed."""
    url = f"unix://{path}"
    if is_answering(path):
        yield url
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    # --time=0: no idle timeout; the service lives exactly as long as this context.
    service = subprocess.Popen(
        ["podman", "system", "service", "--time=0", url],
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + timeout
        while not is_answering(path):
            if service.poll() is not None:
                stderr = service.stderr.read().decode() if service.stderr else ""
                raise RuntimeError(f"podman system service exited: {stderr}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"podman system service did not answer on {path}")
            time.sleep(0.1)
        yield url
    finally:
        service.terminate()
        try:
            service.wait(timeout=10)
        except subprocess.TimeoutExpired:
            service.kill()
            service.wait()
