"""A second checkout whose database port is held (by another checkout's cluster, or anything
else) is told what holds it and what to do, before anything is initialised or started."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from devstack import localdb


def test_a_taken_port_is_named_with_what_to_do(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        monkeypatch.setattr(localdb, "PORT", port)
        monkeypatch.setattr(localdb, "_cluster_dir", lambda: tmp_path)
        with pytest.raises(SystemExit) as refused:
            localdb.start()
    message = str(refused.value)
    assert f"Port {port} is taken by" in message
    assert "make db-down" in message
    assert "LOCAL_DB_PORT=" in message
    assert list(tmp_path.iterdir()) == [], "nothing initialised for a port that is taken"
