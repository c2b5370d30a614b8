"""Raw HTTP/1.1 requests for body-limit attacks (no tests here).

httpx always finishes sending a body before it reads the answer, so it cannot show whether a
server refuses a body *before* reading it whole. These helpers write the headers and part of
a body on a plain socket, never finish it, and wait for the status line: a server that waits
for the rest of the body times out here instead of answering.
"""

from __future__ import annotations

import socket
from collections.abc import Mapping
from urllib.parse import urlsplit

TIMED_OUT = -1


def _status(sock: socket.socket) -> int:
    received = b""
    try:
        while b"\r\n" not in received:
            chunk = sock.recv(4096)
            if not chunk:
                break
            received += chunk
    except TimeoutError:
        return TIMED_OUT
    if not received.startswith(b"HTTP/1.1 "):
        return TIMED_OUT
    return int(received.split(b" ", 2)[1])


def _open(url: str, path: str, headers: Mapping[str, str], timeout: float) -> socket.socket:
    parts = urlsplit(url)
    assert parts.hostname is not None
    assert parts.port is not None
    sock = socket.create_connection((parts.hostname, parts.port), timeout=timeout)
    head = f"POST {path} HTTP/1.1\r\nHost: {parts.hostname}:{parts.port}\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers.items()) + "\r\n"
    sock.sendall(head.encode())
    return sock


def _send(sock: socket.socket, data: bytes) -> bool:
    """False once the server has stopped reading (it answered and closed)."""
    try:
        sock.sendall(data)
    except (BrokenPipeError, ConnectionResetError, TimeoutError):
        return False
    return True


def post_claiming_length(
    url: str,
    path: str,
    claimed_length: int,
    headers: Mapping[str, str] | None = None,
    sent: bytes = b"{",
    timeout: float = 5.0,
) -> int:
    """Announces `claimed_length` bytes, sends only `sent`, and returns the status the server
    answers with meanwhile (TIMED_OUT if it waits for the rest)."""
    all_headers = {"Content-Length": str(claimed_length), **(headers or {})}
    with _open(url, path, all_headers, timeout) as sock:
        _send(sock, sent)
        return _status(sock)


def post_chunked_without_end(
    url: str,
    path: str,
    total_bytes: int,
    headers: Mapping[str, str] | None = None,
    chunk_bytes: int = 64 * 1024,
    timeout: float = 5.0,
    prefix: bytes = b"",
    filler: bytes = b"x",
) -> int:
    """Streams `prefix` then `total_bytes` in chunks (no Content-Length), never sends the last
    chunk, and returns the status the server answers with (TIMED_OUT if it waits for the end)."""
    all_headers = {"Transfer-Encoding": "chunked", **(headers or {})}
    with _open(url, path, all_headers, timeout) as sock:
        if prefix:
            _send(sock, f"{len(prefix):x}\r\n".encode() + prefix + b"\r\n")
        sent = 0
        while sent < total_bytes:
            size = min(chunk_bytes, total_bytes - sent)
            data = (filler * (size // len(filler) + 1))[:size]
            if not _send(sock, f"{size:x}\r\n".encode() + data + b"\r\n"):
                break
            sent += size
        return _status(sock)
